"""Scheduled job on e-mails: the retention purge of the log."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.jobs import JobReport, delete_in_batches, run_job
from core.months import months_before

from .models import SentEmail

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


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
