"""Scheduled jobs on e-mails: the outbox's sweeper, and the retention purge of the log."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from kombu.exceptions import OperationalError

from core.jobs import JobReport, delete_in_batches, run_job
from core.logs import TASK_REQUEST_ID
from core.months import months_before

from .models import SentEmail
from .services import task_named

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
SWEEP_BATCH_SIZE = 500


@dataclass
class SweepReport(JobReport):
    published: int = 0
    broker_unreachable: bool = False


def due_emails(now) -> QuerySet[SentEmail]:
    """Rows whose publish was lost (broker down, worker killed before it took the message),
    whose back-off after a failed attempt is over, or whose worker's claim lapsed."""
    return SentEmail.objects.filter(
        status__in=[SentEmail.Status.PENDING, SentEmail.Status.SENDING],
        next_attempt_at__lte=now,
    )


def sweep_outbox(*, dry_run: bool = False, batch_size: int = SWEEP_BATCH_SIZE) -> SweepReport:
    """Publish again the e-mails that are due, the oldest first, `batch_size` a run (every
    minute). It claims nothing: the sending task does, so a row published twice (by the sweeper
    and a late worker, or twice by the broker) is sent once. One query, whatever the batch."""
    report = SweepReport(dry_run=dry_run)
    due = list(
        due_emails(timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "task", "request_id")[:batch_size]
    )
    if dry_run:
        report.published = len(due)
        return report
    for pk, task, request_id in due:
        try:
            # With the id of the request that wrote the row, for its sending's log lines.
            headers = {TASK_REQUEST_ID: request_id} if request_id else None
            task_named(task).apply_async((pk,), headers=headers)
        except OperationalError:
            report.broker_unreachable = True  # next minute, then
            break
        report.published += 1
    if report.published or report.broker_unreachable:
        logger.info("sweep_outbox: %s", report)
    return report


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
        report.deleted = delete_in_batches(
            SentEmail.objects.filter(created_at__lt=limit), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_sent_email_log: %s", report)
    return report
