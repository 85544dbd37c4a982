"""E-mails through an outbox: a row written in the transaction that causes the e-mail, holding
all it takes to send it; published to Celery once the transaction commits, and re-driven by the
sweeper (notifications.jobs.sweep_outbox) until it is sent or has failed for good.

If the transaction rolls back, neither the row nor the e-mail exists. Each send first claims its
row (a conditional UPDATE), so that two deliveries of one message, the sweeper and a late worker
send one e-mail. What is guaranteed, and the faults tried: docs/reliability.md.
"""

import datetime
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from anymail.exceptions import AnymailAPIError
from celery import Task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.logs import current_request_id

from .models import SentEmail

logger = logging.getLogger(__name__)

SEND_EMAIL_TASK = "notifications.tasks.send_email"

# Errors of the e-mail provider or of the network: worth trying again later. Anything else (a
# template error) fails the row at once: trying again would give the same error.
RETRYABLE = (smtplib.SMTPException, AnymailAPIError, ConnectionError, TimeoutError)


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) from templates/emails/<template>.{subject.txt,txt,html}."""
    subject = render_to_string(f"emails/{template}.subject.txt", context)
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return " ".join(subject.split()), text, html


def publish_after_commit(task: Task, *args) -> None:
    """Hand `task(*args)` to the broker once the transaction commits, at best.

    The action is committed and its e-mail is a row already: a broker that cannot be reached
    (kombu's OperationalError, after Celery's own publish retries) must not turn the committed
    action into an error page; the sweeper publishes the row again once the broker is back. The
    failure is logged (task and ids only, never a context).
    """

    def publish() -> None:
        try:
            task.delay(*args)
        except OperationalError:
            ids = [arg for arg in args if isinstance(arg, int)]
            logger.exception("broker unreachable: %s%s not published", task.name, ids)

    transaction.on_commit(publish, robust=True)


def task_named(name: str) -> Task:
    """The Celery task of that name; the apps' tasks modules are imported on first need (a web
    process imports them lazily, the worker at start)."""
    from celery import current_app

    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def _first_attempt_at() -> datetime.datetime:
    """The sweeper leaves a new row to its own publish for this long."""
    return timezone.now() + datetime.timedelta(seconds=settings.EMAIL_SWEEP_DELAY_SECONDS)


@dataclass
class EmailToSend:
    template: str
    recipient: str
    context: dict[str, Any] = field(default_factory=dict)  # stored in the row: no secret
    account: Any = None
    reply_to: str = ""
    task: str = SEND_EMAIL_TASK  # the task that sends it (and makes its secret, if any)


def schedule_emails(emails: Iterable[EmailToSend]) -> list[SentEmail]:
    """Write the e-mails' rows (one query, however many) and publish each after commit."""
    emails = list(emails)
    first_attempt_at = _first_attempt_at()
    request_id = current_request_id() or ""
    records = SentEmail.objects.bulk_create(
        SentEmail(
            template=email.template,
            recipient=email.recipient,
            account=email.account,
            reply_to=email.reply_to,
            task=email.task,
            context=email.context,
            next_attempt_at=first_attempt_at,
            request_id=request_id,
        )
        for email in emails
    )
    for sent in records:
        publish_after_commit(task_named(sent.task), sent.pk)
    return records


def schedule_email(
    *,
    template: str,
    recipient: str,
    context: dict[str, Any],
    account=None,
    reply_to: str = "",
    task: str = SEND_EMAIL_TASK,
) -> SentEmail:
    """Write one e-mail's row and publish it after commit; `context` must hold no secret."""
    [sent] = schedule_emails([EmailToSend(template, recipient, context, account, reply_to, task)])
    return sent


# --- Sending: claim, deliver, and what becomes of the row ------------------------------------


def claim(sent_email_id: int) -> SentEmail | None:
    """Take the row for this worker, or None if it is sent, failed, cancelled, or another
    worker's claim still runs. One conditional UPDATE: of two claims at once, one wins."""
    now = timezone.now()
    lease = now + datetime.timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS)
    claimed = SentEmail.objects.filter(
        Q(status=SentEmail.Status.PENDING)
        | Q(status=SentEmail.Status.SENDING, next_attempt_at__lte=now),
        pk=sent_email_id,
    ).update(status=SentEmail.Status.SENDING, next_attempt_at=lease, attempts=F("attempts") + 1)
    return SentEmail.objects.get(pk=sent_email_id) if claimed else None


def retry_delay(attempts: int) -> datetime.timedelta:
    """After the n-th failed attempt: EMAIL_RETRY_BACKOFF_SECONDS × 2^(n-1), an hour at most."""
    seconds = settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return datetime.timedelta(seconds=min(seconds, 3600))


def send_claimed(
    sent_email_id: int, context_of: Callable[[SentEmail], dict[str, Any] | None]
) -> None:
    """Claim the row, build its context (None: the e-mail no longer has a reason, it is
    cancelled), and send it. What the sending tasks of every app do."""
    sent = claim(sent_email_id)
    if sent is None:
        return  # sent already, or being sent: a duplicate delivery, the sweeper's or the broker's
    try:
        context = context_of(sent)
    except Exception:
        _failed(sent, "ContextError", final=True)
        raise
    if context is None:
        mark_cancelled(sent)
        return
    deliver(sent, context)


def deliver(sent: SentEmail, context: dict[str, Any]) -> None:
    """Render and send the claimed row now; record what happened."""
    try:
        subject, text, html = render_email(sent.template, context)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            to=[sent.recipient],
            reply_to=[sent.reply_to] if sent.reply_to else None,
        )
        message.attach_alternative(html, "text/html")
        sent.subject = subject[:200]
        message.send()
    except RETRYABLE as error:
        _failed(sent, type(error).__name__, final=sent.attempts >= settings.EMAIL_MAX_ATTEMPTS)
        return
    except Exception as error:
        _failed(sent, type(error).__name__, final=True)
        raise
    sent.status = SentEmail.Status.SENT
    sent.sent_at = timezone.now()
    sent.next_attempt_at = None
    sent.error = ""
    sent.context = {}  # no longer needed: the row keeps who, which template and when
    sent.save(update_fields=["subject", "status", "sent_at", "next_attempt_at", "error", "context"])
    logger.info(
        "e-mail sent (template %s, id %s, attempt %s)", sent.template, sent.pk, sent.attempts
    )


def _failed(sent: SentEmail, error: str, *, final: bool) -> None:
    """A failed attempt: the row waits for the sweeper after a back-off, or has failed for good
    (visible in the admin, where an agent can resend it). Only the error's type is kept."""
    sent.error = error
    if final:
        sent.status = SentEmail.Status.FAILED
        sent.next_attempt_at = None
    else:
        sent.status = SentEmail.Status.PENDING
        sent.next_attempt_at = timezone.now() + retry_delay(sent.attempts)
    sent.save(update_fields=["subject", "status", "next_attempt_at", "error"])
    logger.warning(
        "e-mail %s (template %s, id %s, attempt %s): %s",
        sent.status,
        sent.template,
        sent.pk,
        sent.attempts,
        error,
    )


def mark_cancelled(sent: SentEmail) -> None:
    sent.status = SentEmail.Status.CANCELLED
    sent.next_attempt_at = None
    sent.context = {}
    sent.save(update_fields=["status", "next_attempt_at", "context"])


@transaction.atomic
def resend(sent: SentEmail) -> bool:
    """An agent sends a failed e-mail again (admin): a fresh series of attempts. False when the
    row has not failed (sent, pending or cancelled rows are left alone)."""
    updated = SentEmail.objects.filter(pk=sent.pk, status=SentEmail.Status.FAILED).update(
        status=SentEmail.Status.PENDING, attempts=0, error="", next_attempt_at=_first_attempt_at()
    )
    if updated:
        publish_after_commit(task_named(sent.task), sent.pk)
    return bool(updated)
