"""The end of conventions and the warning 30 days before it: both e-mail or inactivate the
accounts of the structures whose conventions end."""

import datetime
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from conventions.models import Convention
from core.jobs import JobReport, for_each_locked_batch, run_job
from notifications.services import EmailToSend, schedule_emails
from organismes.models import StructureEvent, StructurePartenaire

from ..models import AccountEvent, Invitation, Role, User

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


# --- Convention end -------------------------------------------------------------------------


@dataclass
class ConventionEndReport(JobReport):
    conventions: int = 0  # ended conventions dealt with
    structures_closed: int = 0  # structures left without any convention en cours or à venir
    accounts_inactivated: int = 0
    invitations_revoked: int = 0


def conventions_to_end(today: datetime.date) -> QuerySet[Convention]:
    """Ended conventions the job has not dealt with since they ended.

    A convention dealt with and then extended (its end moved past the day it was dealt with) is
    dealt with again when it ends again.
    """
    return Convention.objects.filter(date_fin__lt=today).filter(
        Q(end_processed_at__isnull=True) | Q(end_processed_at__date__lte=F("date_fin"))
    )


def end_conventions(
    *, today: datetime.date | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> ConventionEndReport:
    """Inactivate the accounts of structures whose last convention has ended (SPEC §6).

    A structure that still has a convention en cours or à venir, with any organisme, keeps its
    accounts: the ended organisme just stops being selectable.
    """
    today = today or timezone.localdate()

    def job() -> ConventionEndReport:
        report = ConventionEndReport(dry_run=dry_run)
        for_each_locked_batch(
            conventions_to_end(today).select_related("organisme"),
            lambda batch: _end_batch(batch, today, report),
            batch_size,
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("end_conventions: %s", report)
    return report


def _end_batch(batch: list[Convention], today: datetime.date, report: ConventionEndReport) -> None:
    now = timezone.now()
    structure_ids = sorted({convention.structure_id for convention in batch})
    # The services that create, inactivate or reactivate accounts lock the structure first.
    list(
        StructurePartenaire.objects.select_for_update()
        .filter(pk__in=structure_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    still_covered = set(
        Convention.objects.filter(structure_id__in=structure_ids)
        .en_cours_ou_a_venir(today)
        .values_list("structure_id", flat=True)
    )
    closing = [pk for pk in structure_ids if pk not in still_covered]

    ended_by_structure: dict[int, list[Convention]] = defaultdict(list)
    for convention in batch:
        ended_by_structure[convention.structure_id].append(convention)

    accounts = list(
        User.objects.partners()
        .active()
        .filter(structure_id__in=closing)
        .select_for_update()
        .order_by("pk")
        .values_list("pk", "structure_id", "role")
    )
    account_ids = [pk for pk, _structure, _role in accounts]
    inactivated = User.objects.filter(pk__in=account_ids).update(
        is_active=False, inactivated_at=now
    )
    revoked = Invitation.objects.pending().filter(account_id__in=account_ids).update(revoked_at=now)
    reasons = {pk: _end_reason(ended_by_structure[pk]) for pk in closing}
    AccountEvent.objects.bulk_create(
        AccountEvent(
            account_id=pk,
            kind=AccountEvent.Kind.INACTIVATED,
            at=now,
            by=None,
            reason=reasons[structure_id],
        )
        for pk, structure_id, _role in accounts
    )
    counts = Counter((structure_id, role) for _pk, structure_id, role in accounts)
    StructureEvent.objects.bulk_create(
        StructureEvent(
            structure_id=pk,
            kind=StructureEvent.Kind.CONVENTION_ENDED,
            at=now,
            details={
                "conventions": [
                    {
                        "id": convention.pk,
                        "reference": convention.reference,
                        "organisme": convention.organisme.nom,
                        "date_fin": convention.date_fin.isoformat(),
                    }
                    for convention in ended_by_structure[pk]
                ],
                "gestionnaires_inactives": counts[pk, Role.GESTIONNAIRE],
                "techniciens_inactives": counts[pk, Role.TECHNICIEN],
            },
        )
        for pk in closing
    )
    Convention.objects.filter(pk__in=[convention.pk for convention in batch]).update(
        end_processed_at=now
    )
    report.conventions += len(batch)
    report.structures_closed += len(closing)
    report.accounts_inactivated += inactivated
    report.invitations_revoked += revoked
    logger.info(
        "end_conventions: conventions %s dealt with; structures %s closed, %s account(s) "
        "inactivated",
        [convention.pk for convention in batch],
        closing,
        inactivated,
    )


def _end_reason(conventions: list[Convention]) -> str:
    return " ; ".join(
        _("Fin de convention %(reference)s avec %(organisme)s")
        % {"reference": convention.reference, "organisme": convention.organisme.nom}
        for convention in sorted(conventions, key=lambda convention: convention.pk)
    )


# --- Convention warning, 30 days before the end ---------------------------------------------


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
        .filter(Q(end_warning_sent_for__isnull=True) | ~Q(end_warning_sent_for=F("date_fin")))
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
        end_warning_sent_for=F("date_fin")
    )
    report.conventions += len(batch)
    logger.info(
        "warn_convention_ends: conventions %s warned, %s e-mail(s)",
        [convention.pk for convention in batch],
        len(emails),
    )
