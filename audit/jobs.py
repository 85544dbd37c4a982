"""The retention purge of the access log (SPEC §10): rows older than ACCESS_LOG_RETENTION_MONTHS
calendar months go, in batches. The only way rows leave the log."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.jobs import JobReport, delete_in_batches, run_job
from core.months import months_before

from .models import AccessLogEntry

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class AccessLogPurgeReport(JobReport):
    deleted: int = 0


def purge_access_log(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> AccessLogPurgeReport:
    """Delete the rows of the access log older than ACCESS_LOG_RETENTION_MONTHS months."""

    def job() -> AccessLogPurgeReport:
        report = AccessLogPurgeReport(dry_run=dry_run)
        # In local time: "12 months ago" is the same hour on the wall clock.
        limit = months_before(timezone.localtime(), settings.ACCESS_LOG_RETENTION_MONTHS)
        report.deleted = delete_in_batches(AccessLogEntry.objects.filter(at__lt=limit), batch_size)
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_access_log: %s", report)
    return report
