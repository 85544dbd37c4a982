import smtplib
from typing import Any

from anymail.exceptions import AnymailAPIError
from celery import Task, shared_task

from . import jobs
from .models import SentEmail
from .services import deliver, mark_failed

# Errors of the e-mail provider or of the network: worth trying again later.
RETRYABLE = (smtplib.SMTPException, AnymailAPIError, ConnectionError, TimeoutError)

# Options of every e-mail task: retries with an exponential back-off, then status "failed".
EMAIL_TASK_OPTIONS = {
    "bind": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": 30,
    "retry_backoff_max": 3600,
    "max_retries": 5,
}


def deliver_with_retries(task: Task, sent: SentEmail, context: dict[str, Any]) -> None:
    try:
        deliver(sent, context)
    except RETRYABLE:
        if task.request.retries >= task.max_retries:
            mark_failed(sent.pk)
        raise


@shared_task(**EMAIL_TASK_OPTIONS)
def send_email(self, sent_email_id: int, context: dict[str, Any]) -> None:
    sent = SentEmail.objects.get(pk=sent_email_id)
    if sent.status == SentEmail.Status.SENT:
        return  # a message delivered twice by the broker: it went out already
    deliver_with_retries(self, sent, context)


@shared_task(name="notifications.tasks.purge_sent_email_log")
def purge_sent_email_log() -> dict:
    return jobs.purge_sent_email_log().as_dict()
