from celery import shared_task

from . import jobs


@shared_task(name="audit.tasks.purge_access_log")
def purge_access_log() -> dict:
    return jobs.purge_access_log().as_dict()
