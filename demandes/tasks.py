from celery import shared_task

from . import jobs


@shared_task(name="demandes.tasks.anonymise_closed_demandes")
def anonymise_closed_demandes() -> dict:
    return jobs.anonymise_closed_demandes().as_dict()


@shared_task(name="demandes.tasks.send_daily_digests")
def send_daily_digests() -> dict:
    return jobs.send_daily_digests().as_dict()
