"""Scheduled jobs on e-mails: the retention purge of the log, and the batch form of
`services.schedule_email` that the other jobs use."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from espace_partenaires.jobs import JobReport, run_job
from espace_partenaires.months import months_before

from .models import SentEmail

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class EmailToSend:
    template: str
    recipient: str
    context: dict[str, Any] = field(default_factory=dict)  # travels through the broker: no secret
    account: Any = None


def schedule_emails(emails: Iterable[EmailToSend]) -> list[SentEmail]:
    """Record several e-mails in one query and send each after commit, as schedule_email does."""
    from .tasks import send_email

    emails = list(emails)
    records = SentEmail.objects.bulk_create(
        SentEmail(template=email.template, recipient=email.recipient, account=email.account)
        for email in emails
    )
    for sent, email in zip(records, emails, strict=True):
        transaction.on_commit(
            lambda sent_id=sent.pk, context=email.context: send_email.delay(sent_id, context)
        )
    return records


@dataclass
class EmailLogPurgeReport(JobReport):
    deleted: int = 0


def purge_sent_email_log(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> EmailLogPurgeReport:
    """Delete the records of e-mails older than EMAIL_LOG_RETENTION_MONTHS calendar months."""

    def job() -> EmailLogPurgeReport:
        report = EmailLogPurgeReport(dry_run=dry_run)
        # In local time: "12 months ago" is the same hour on the wall clock.
        limit = months_before(timezone.localtime(), settings.EMAIL_LOG_RETENTION_MONTHS)
        while True:
            ids = list(
                SentEmail.objects.filter(created_at__lt=limit)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            # Two runs at once may pick the same rows: deleting a deleted row is a no-op.
            _total, by_model = SentEmail.objects.filter(pk__in=ids).delete()
            report.deleted += by_model.get(SentEmail._meta.label, 0)
            if len(ids) < batch_size:
                break
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_sent_email_log: %s", report)
    return report
