"""Scheduled job on conventions: the warning 30 days before the end (SPEC §6)."""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.jobs import JobReport, for_each_locked_batch, run_job
from notifications.services import EmailToSend, schedule_emails

from .models import Convention

logger = logging.getLogger(__name__)

BATCH_SIZE = 200

# Same delay as the red asterisk of the organisme selection (accounts.selection).
WARNING_DAYS = 30


@dataclass
class ConventionWarningReport(JobReport):
    conventions: int = 0
    emails_gestionnaires: int = 0
    emails_referents: int = 0


def conventions_to_warn(today: datetime.date) -> QuerySet[Convention]:
    """Conventions en cours ending within WARNING_DAYS, not yet warned for this end date.

    A renewal already signed with the same organisme means nothing is about to end: no warning,
    as in the organisme selection. If the end date moves, the new date gets its own warning.
    """
    renewal = Convention.objects.filter(
        structure_id=OuterRef("structure_id"),
        organisme_id=OuterRef("organisme_id"),
        date_debut__gt=OuterRef("date_fin"),
    )
    return (
        Convention.objects.en_cours(today)
        .filter(date_fin__lte=today + datetime.timedelta(days=WARNING_DAYS))
        .filter(Q(alerte_fin_envoyee_pour__isnull=True) | ~Q(alerte_fin_envoyee_pour=F("date_fin")))
        .exclude(Exists(renewal))
    )


def warn_convention_ends(
    *, today: datetime.date | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> ConventionWarningReport:
    """E-mail the active gestionnaires and the organisme's referent, once per end date."""
    today = today or timezone.localdate()

    def job() -> ConventionWarningReport:
        report = ConventionWarningReport(dry_run=dry_run)
        for_each_locked_batch(
            conventions_to_warn(today).select_related("organisme", "structure"),
            lambda batch: _warn_batch(batch, report),
            batch_size,
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("warn_convention_ends: %s", report)
    return report


def _warn_batch(batch: list[Convention], report: ConventionWarningReport) -> None:
    gestionnaires: dict[int, list[User]] = defaultdict(list)
    for account in (
        User.objects.gestionnaires()
        .active()
        .reachable()
        .filter(structure_id__in={convention.structure_id for convention in batch})
        .order_by("pk")
    ):
        gestionnaires[account.structure_id].append(account)

    login_url = settings.SITE_URL + reverse("accounts:login")
    emails = []
    for convention in batch:
        context = {
            "organisme": convention.organisme.nom,
            "structure": convention.structure.nom,
            "siret": convention.structure.siret,
            "reference": convention.reference,
            "date_fin": date_format(convention.date_fin, "j F Y"),
            "login_url": login_url,
        }
        for account in gestionnaires[convention.structure_id]:
            emails.append(
                EmailToSend(
                    template="conventions/fin_proche",
                    recipient=account.email,
                    account=account,
                    context={**context, "prenom_nom": account.get_full_name()},
                )
            )
            report.emails_gestionnaires += 1
        if convention.organisme.email_referent:
            emails.append(
                EmailToSend(
                    template="conventions/fin_proche_referent",
                    recipient=convention.organisme.email_referent,
                    context=context,
                )
            )
            report.emails_referents += 1
    schedule_emails(emails)
    Convention.objects.filter(pk__in=[convention.pk for convention in batch]).update(
        alerte_fin_envoyee_pour=F("date_fin")
    )
    report.conventions += len(batch)
    logger.info(
        "warn_convention_ends: conventions %s warned, %s e-mail(s)",
        [convention.pk for convention in batch],
        len(emails),
    )
