"""E-mails: recorded in the transaction that causes them, sent by Celery once it commits.

If the transaction rolls back, neither the record nor the e-mail exists.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery import Task
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError

from .models import SentEmail

logger = logging.getLogger(__name__)


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
    action into an error page. The failure is logged (task and ids only, never the context).
    """

    def publish() -> None:
        try:
            task.delay(*args)
        except OperationalError:
            ids = [arg for arg in args if isinstance(arg, int)]  # never the e-mail's context
            logger.exception("broker unreachable: %s%s not published", task.name, ids)

    transaction.on_commit(publish, robust=True)


def record_email(*, template: str, recipient: str, account=None) -> SentEmail:
    return SentEmail.objects.create(template=template, recipient=recipient, account=account)


@dataclass
class EmailToSend:
    template: str
    recipient: str
    context: dict[str, Any] = field(default_factory=dict)  # travels through the broker: no secret
    account: Any = None
    reply_to: str = ""


def schedule_emails(emails: Iterable[EmailToSend]) -> list[SentEmail]:
    """Record e-mails (one query, however many) and send each through Celery after commit."""
    from .tasks import send_email

    emails = list(emails)
    records = SentEmail.objects.bulk_create(
        SentEmail(
            template=email.template,
            recipient=email.recipient,
            account=email.account,
            reply_to=email.reply_to,
        )
        for email in emails
    )
    for sent, email in zip(records, emails, strict=True):
        publish_after_commit(send_email, sent.pk, email.context)
    return records


def schedule_email(
    *, template: str, recipient: str, context: dict[str, Any], account=None, reply_to: str = ""
) -> SentEmail:
    """Record one e-mail and send it after commit; `context` must hold no secret."""
    [sent] = schedule_emails([EmailToSend(template, recipient, context, account, reply_to)])
    return sent


def deliver(sent: SentEmail, context: dict[str, Any]) -> None:
    """Render and send now; raises on a provider error so that the task retries."""
    subject, text, html = render_email(sent.template, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[sent.recipient],
        reply_to=[sent.reply_to] if sent.reply_to else None,
    )
    message.attach_alternative(html, "text/html")
    sent.attempts += 1
    sent.subject = subject[:200]
    try:
        message.send()
    except Exception as error:
        sent.error = f"{type(error).__name__}"
        sent.save(update_fields=["attempts", "subject", "error"])
        raise
    sent.status = SentEmail.Status.SENT
    sent.sent_at = timezone.now()
    sent.error = ""
    sent.save(update_fields=["attempts", "subject", "status", "sent_at", "error"])
    logger.info("e-mail %s sent (template %s, id %s)", sent.status, sent.template, sent.pk)


def mark_failed(sent_email_id: int) -> None:
    SentEmail.objects.filter(pk=sent_email_id).update(status=SentEmail.Status.FAILED)


def mark_cancelled(sent: SentEmail) -> None:
    sent.status = SentEmail.Status.CANCELLED
    sent.save(update_fields=["status"])
