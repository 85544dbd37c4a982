from celery import shared_task

from . import jobs


@shared_task(name="inscriptions.tasks.purge_inscriptions")
def purge_inscriptions() -> dict:
    return jobs.purge_inscriptions().as_dict()
