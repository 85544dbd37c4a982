from celery import shared_task


@shared_task(name="inscriptions.tasks.purge_inscriptions")
def purge_inscriptions() -> dict:
    from .jobs import purge_inscriptions

    return purge_inscriptions().as_dict()
