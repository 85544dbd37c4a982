"""Scheduled job on the public pages' data: the retention purge of pré-inscriptions and contact
messages (names, phones and e-mail addresses typed by people who have no account)."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.jobs import JobReport, delete_in_batches, run_job
from core.months import months_before

from .models import MessageContact, PreInscription, Statut

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000


@dataclass
class InscriptionPurgeReport(JobReport):
    preinscriptions_decided: int = 0
    # Never decided by the fund: the log tells that requests were left without an answer.
    preinscriptions_pending: int = 0
    messages_contact: int = 0


def purge_inscriptions(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> InscriptionPurgeReport:
    """Delete, INSCRIPTION_RETENTION_MONTHS calendar months on, the pré-inscriptions decided
    (validated or refused) that long ago, those still pending that long after they were
    received, and the contact messages received that long ago."""

    def job() -> InscriptionPurgeReport:
        report = InscriptionPurgeReport(dry_run=dry_run)
        # In local time: "12 months ago" is the same hour on the wall clock.
        limit = months_before(timezone.localtime(), settings.INSCRIPTION_RETENTION_MONTHS)
        report.preinscriptions_decided = delete_in_batches(
            PreInscription.objects.filter(
                statut__in=[Statut.VALIDEE, Statut.REFUSEE], decided_at__lt=limit
            ),
            batch_size,
        )
        report.preinscriptions_pending = delete_in_batches(
            PreInscription.objects.filter(statut=Statut.EN_ATTENTE, created_at__lt=limit),
            batch_size,
        )
        report.messages_contact = delete_in_batches(
            MessageContact.objects.filter(created_at__lt=limit), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_inscriptions: %s", report)
    return report
