"""Dormant accounts (SPEC §10): a partner account unused for DORMANT_ACCOUNT_MONTHS is warned by
e-mail (warn_dormant_accounts), then inactivated DORMANT_NOTICE_DAYS later unless it logged in
meanwhile (inactivate_dormant_accounts), through the same service as an inactivation by hand.
The last active gestionnaire of a structure is never inactivated: the fund's referents are told.

Unused means no log-in since the later of the last log-in, the creation and the last invitation
(an account never logged in, or reactivated, counts from its invitation). A warning counts only
if it came after that moment: a log-in cancels it (and clears it, accounts.apps). Agents de
caisse are left out: they are the fund's own staff, whose accounts the fund's administrators
manage (with its HR departures), and whom SPEC §10 does not name.
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from conventions.models import Convention
from core.jobs import JobReport, for_each_locked_batch, run_job
from core.months import months_before
from notifications.services import EmailToSend, schedule_email, schedule_emails
from organismes.models import StructurePartenaire

from .. import services
from ..models import AccountEvent, User

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


def _with_last_use(queryset: QuerySet[User]) -> QuerySet[User]:
    last_invitation = Subquery(
        AccountEvent.objects.filter(account=OuterRef("pk"), kind=AccountEvent.Kind.INVITATION_SENT)
        .order_by("-at")
        .values("at")[:1]
    )
    return queryset.alias(
        last_use=Greatest(
            Coalesce("last_login", "created_at"), Coalesce(last_invitation, "created_at")
        )
    )


def _concerned() -> QuerySet[User]:
    """Active partner accounts whose structure's access is not suspended (they cannot log in)."""
    return _with_last_use(
        User.objects.partners().active().filter(structure__suspended_at__isnull=True)
    )


def _warning_counts() -> Q:
    return Q(dormant_warning_sent_at__isnull=False, dormant_warning_sent_at__gte=F("last_use"))


def accounts_to_warn(now: datetime.datetime) -> QuerySet[User]:
    cutoff = months_before(timezone.localtime(now), settings.DORMANT_ACCOUNT_MONTHS)
    return _concerned().filter(last_use__lte=cutoff).exclude(_warning_counts())


def accounts_to_inactivate(now: datetime.datetime) -> QuerySet[User]:
    """Warned at least DORMANT_NOTICE_DAYS ago, not used since, and not already kept as the last
    active gestionnaire since that warning."""
    notice = datetime.timedelta(days=settings.DORMANT_NOTICE_DAYS)
    kept = AccountEvent.objects.filter(
        account=OuterRef("pk"),
        kind=AccountEvent.Kind.DORMANT_KEPT,
        at__gte=OuterRef("dormant_warning_sent_at"),
    )
    return (
        _concerned()
        .filter(_warning_counts(), dormant_warning_sent_at__lte=now - notice)
        .exclude(Exists(kept))
    )


def inactivation_date(warned_at: datetime.datetime) -> str:
    moment = timezone.localtime(warned_at) + datetime.timedelta(days=settings.DORMANT_NOTICE_DAYS)
    return date_format(moment, "j F Y")


# --- The warning ----------------------------------------------------------------------------


@dataclass
class DormantWarningReport(JobReport):
    warned: int = 0
    emails: int = 0  # fewer than warned when an address is reported invalid


def warn_dormant_accounts(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> DormantWarningReport:
    """E-mail each account unused for DORMANT_ACCOUNT_MONTHS that it will be inactivated."""

    def job() -> DormantWarningReport:
        report = DormantWarningReport(dry_run=dry_run)
        now = timezone.now()
        for_each_locked_batch(
            accounts_to_warn(now), lambda batch: _warn_batch(batch, now, report), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("warn_dormant_accounts: %s", report)
    return report


def _warn_batch(batch: list[User], now: datetime.datetime, report: DormantWarningReport) -> None:
    login_url = settings.SITE_URL + reverse("accounts:login")
    emails = [
        EmailToSend(
            template="accounts/compte_dormant",
            recipient=account.email,
            account=account,
            context={
                "prenom_nom": account.get_full_name(),
                "identifiant": account.identifiant,
                "months": settings.DORMANT_ACCOUNT_MONTHS,
                "date": inactivation_date(now),
                "login_url": login_url,
            },
        )
        for account in batch
        if account.email_invalid_at is None
    ]
    schedule_emails(emails)
    ids = [account.pk for account in batch]
    User.objects.filter(pk__in=ids).update(dormant_warning_sent_at=now)
    AccountEvent.objects.bulk_create(
        AccountEvent(account_id=pk, kind=AccountEvent.Kind.DORMANT_WARNED, at=now) for pk in ids
    )
    report.warned += len(batch)
    report.emails += len(emails)
    logger.info("warn_dormant_accounts: accounts %s warned", ids)


# --- The inactivation -----------------------------------------------------------------------


@dataclass
class DormantInactivationReport(JobReport):
    inactivated: int = 0
    kept_last_gestionnaire: int = 0  # the fund's referents told instead
    emails_referents: int = 0


def inactivate_dormant_accounts(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> DormantInactivationReport:
    """Inactivate the accounts warned DORMANT_NOTICE_DAYS ago and not used since.

    One account at a time, through services.inactivate_account, in its own transaction that
    locks the structure then the account (the order of every service), and checks again under
    lock that it is still to inactivate: a log-in meanwhile, or another run, leaves it.
    """

    def job() -> DormantInactivationReport:
        report = DormantInactivationReport(dry_run=dry_run)
        now = timezone.now()
        last_pk = 0
        while True:
            candidates = list(
                accounts_to_inactivate(now)
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", "structure_id")[:batch_size]
            )
            for pk, structure_id in candidates:
                _inactivate_one(pk, structure_id, now, report)
            if len(candidates) < batch_size:
                return report
            last_pk = candidates[-1][0]

    report = run_job(job, dry_run=dry_run)
    logger.info("inactivate_dormant_accounts: %s", report)
    return report


def _inactivate_one(
    pk: int, structure_id: int, now: datetime.datetime, report: DormantInactivationReport
) -> None:
    with transaction.atomic():
        structure = StructurePartenaire.objects.select_for_update().get(pk=structure_id)
        account = accounts_to_inactivate(now).filter(pk=pk).select_for_update(of=("self",)).first()
        if account is None:
            return
        reason = _("compte inactif depuis %(months)s mois") % {
            "months": settings.DORMANT_ACCOUNT_MONTHS
        }
        try:
            services.inactivate_account(by=None, account=account, reason=reason)
        except services.LastActiveAccount:
            _keep_last_gestionnaire(account, structure, now, report)
            return
        report.inactivated += 1
        logger.info("inactivate_dormant_accounts: account %s inactivated", pk)


def _keep_last_gestionnaire(
    account: User,
    structure: StructurePartenaire,
    now: datetime.datetime,
    report: DormantInactivationReport,
) -> None:
    """The structure needs its last gestionnaire: the referents of the organismes it has a
    convention en cours or à venir with are told, once per warning."""
    AccountEvent.objects.create(account=account, kind=AccountEvent.Kind.DORMANT_KEPT, at=now)
    referents = sorted(
        set(
            Convention.objects.filter(structure=structure)
            .en_cours_ou_a_venir(timezone.localdate(now))
            .exclude(organisme__email_referent="")
            .values_list("organisme__email_referent", flat=True)
        )
    )
    for referent in referents:
        schedule_email(
            template="accounts/compte_dormant_referent",
            recipient=referent,
            context={
                "structure": structure.nom,
                "siret": structure.siret,
                "prenom_nom": account.get_full_name(),
                "identifiant": account.identifiant,
                "months": settings.DORMANT_ACCOUNT_MONTHS,
            },
        )
    report.kept_last_gestionnaire += 1
    report.emails_referents += len(referents)
    logger.info(
        "inactivate_dormant_accounts: account %s kept (last active gestionnaire), %s referent(s)",
        account.pk,
        len(referents),
    )
