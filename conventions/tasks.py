from celery import shared_task

from . import jobs


@shared_task(name="conventions.tasks.warn_convention_ends")
def warn_convention_ends() -> dict:
    return jobs.warn_convention_ends().as_dict()
