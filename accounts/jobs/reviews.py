"""The request for the 'Revue des habilitations' (SPEC §10): every HABILITATION_REVIEW_MONTHS,
the active gestionnaires of each structure whose review is due get an e-mail with a link to the
page; at most one request per structure per period, even if the review is not done."""

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from core.jobs import JobReport, for_each_locked_batch, run_job
from notifications.services import EmailToSend, schedule_emails
from organismes.models import StructurePartenaire

from ..models import HabilitationReviewRequest, User
from ..reviews import due_for_review, review_cutoff

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass
class ReviewRequestReport(JobReport):
    structures: int = 0
    emails: int = 0


def structures_to_ask(now):
    """Due for review, and not asked within the last period."""
    asked = HabilitationReviewRequest.objects.filter(
        structure=OuterRef("pk"), at__gt=review_cutoff(now)
    )
    return due_for_review(StructurePartenaire.objects.all(), now).exclude(Exists(asked))


def request_habilitation_reviews(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> ReviewRequestReport:
    """E-mail the active gestionnaires of each structure whose review is due, once per period."""

    def job() -> ReviewRequestReport:
        report = ReviewRequestReport(dry_run=dry_run)
        now = timezone.now()
        for_each_locked_batch(
            structures_to_ask(now), lambda batch: _ask_batch(batch, now, report), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("request_habilitation_reviews: %s", report)
    return report


def _ask_batch(batch: list[StructurePartenaire], now, report: ReviewRequestReport) -> None:
    gestionnaires: dict[int, list[User]] = defaultdict(list)
    for account in (
        User.objects.gestionnaires()
        .active()
        .reachable()
        .filter(structure_id__in=[structure.pk for structure in batch])
        .order_by("pk")
    ):
        gestionnaires[account.structure_id].append(account)
    link = settings.SITE_URL + reverse("accounts:habilitation_review")
    emails = [
        EmailToSend(
            template="accounts/revue_habilitations",
            recipient=account.email,
            account=account,
            context={
                "prenom_nom": account.get_full_name(),
                "structure": structure.nom,
                "months": settings.HABILITATION_REVIEW_MONTHS,
                "link": link,
            },
        )
        for structure in batch
        for account in gestionnaires[structure.pk]
    ]
    schedule_emails(emails)
    HabilitationReviewRequest.objects.bulk_create(
        HabilitationReviewRequest(structure=structure, at=now) for structure in batch
    )
    report.structures += len(batch)
    report.emails += len(emails)
    logger.info(
        "request_habilitation_reviews: structures %s asked, %s e-mail(s)",
        [structure.pk for structure in batch],
        len(emails),
    )
