from celery import shared_task

from . import jobs
from .services import send_claimed


@shared_task(name="notifications.tasks.send_email")
def send_email(sent_email_id: int) -> None:
    """Send an outbox row whose context is stored with it (no secret in it)."""
    send_claimed(sent_email_id, lambda sent: sent.context)


@shared_task(name="notifications.tasks.sweep_outbox")
def sweep_outbox() -> dict:
    return jobs.sweep_outbox().as_dict()


@shared_task(name="notifications.tasks.purge_sent_email_log")
def purge_sent_email_log() -> dict:
    return jobs.purge_sent_email_log().as_dict()
