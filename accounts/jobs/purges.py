"""The purges: inactive accounts after their structure's delay, expired invitation links, expired
sessions."""

import datetime
import logging
from collections import Counter
from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    F,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from conventions.models import Convention
from core.history import forget_objects
from core.jobs import JobReport, delete_in_batches, run_job
from core.months import months_before
from organismes.models import Organisme, StructureEvent

from ..models import Invitation, User

logger = logging.getLogger(__name__)

BATCH_SIZE = 200

# The delay of a structure without any convention (SPEC §2: 6 months by default).
DEFAULT_PURGE_DELAY_MONTHS = Organisme._meta.get_field("delai_purge_mois").default

# Expired links are kept this long, so that a late click is still offered a new link.
EXPIRED_INVITATION_RETENTION = datetime.timedelta(days=30)


# --- Purge of inactive accounts -------------------------------------------------------------


@dataclass
class PurgeReport(JobReport):
    structures: int = 0
    accounts_deleted: int = 0


def purgeable_accounts(now: datetime.datetime) -> QuerySet[User]:
    """Partner accounts inactive for longer than their structure's purge delay.

    The delay is the shortest among the organismes the structure has or had conventions with,
    computed in SQL for each structure; the cut-off date of each possible delay is computed here
    (calendar months), one per distinct delay in use.
    """
    shortest_delay = (
        Convention.objects.filter(structure_id=OuterRef("structure_id"))
        .order_by()
        .values("structure_id")
        .annotate(delai=Min("organisme__delai_purge_mois"))
        .values("delai")
    )
    delays = set(Organisme.objects.values_list("delai_purge_mois", flat=True).distinct())
    delays.add(DEFAULT_PURGE_DELAY_MONTHS)
    # In local time: "6 months ago" is the same hour on the wall clock, across a DST change.
    local_now = timezone.localtime(now)
    return (
        User.objects.partners()
        .filter(is_active=False, inactivated_at__isnull=False)
        .alias(delai=Coalesce(Subquery(shortest_delay), Value(DEFAULT_PURGE_DELAY_MONTHS)))
        .alias(
            limite=Case(
                *(
                    When(delai=months, then=Value(months_before(local_now, months)))
                    for months in sorted(delays)
                ),
                output_field=DateTimeField(),
            )
        )
        .filter(inactivated_at__lt=F("limite"))
    )


def purge_inactive_accounts(*, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> PurgeReport:
    """Delete the accounts inactive for longer than the purge delay (SPEC §6).

    Each structure's history records how many were deleted (no names, no e-mails). Their demandes
    stay with the structure, without an author ("compte supprimé"); their own history goes, but
    for the lines of the admin's history, kept without their name or values (core.history).
    """

    def job() -> PurgeReport:
        report = PurgeReport(dry_run=dry_run)
        now = timezone.now()
        last_structure = 0
        while True:
            # Whole structures at a time, so that each gets one line of history per run.
            structure_ids = list(
                purgeable_accounts(now)
                .filter(structure_id__gt=last_structure)
                .order_by("structure_id")
                .values_list("structure_id", flat=True)
                .distinct()[:batch_size]
            )
            if not structure_ids:
                break
            last_structure = structure_ids[-1]
            with transaction.atomic():
                _purge_batch(now, structure_ids, report)
            if len(structure_ids) < batch_size:
                break
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_inactive_accounts: %s", report)
    return report


def _purge_batch(now: datetime.datetime, structure_ids: list[int], report: PurgeReport) -> None:
    # Checked again under lock: an account reactivated meanwhile is no longer purgeable.
    accounts = list(
        purgeable_accounts(now)
        .filter(structure_id__in=structure_ids)
        .select_for_update(skip_locked=True)
        .order_by("pk")
        .values_list("pk", "structure_id")
    )
    if not accounts:
        return
    counts = Counter(structure_id for _pk, structure_id in accounts)
    StructureEvent.objects.bulk_create(
        StructureEvent(
            structure_id=structure_id,
            kind=StructureEvent.Kind.ACCOUNTS_PURGED,
            at=now,
            details={"comptes_supprimes": count},
        )
        for structure_id, count in sorted(counts.items())
    )
    pks = [pk for pk, _structure in accounts]
    # What agents did to these accounts stays in the history, without their names (item 7);
    # what these accounts did stays too, its author "compte supprimé" (HistoryEntry.by SET_NULL).
    forget_objects(User, pks)
    User.objects.filter(pk__in=pks).delete()
    report.structures += len(counts)
    report.accounts_deleted += len(accounts)
    logger.info(
        "purge_inactive_accounts: %s account(s) deleted in structures %s",
        len(accounts),
        sorted(counts),
    )


# --- Expired invitations -------------------------------------------------------------------


@dataclass
class InvitationPurgeReport(JobReport):
    deleted: int = 0


def purge_expired_invitations(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> InvitationPurgeReport:
    """Delete the invitation links that expired more than EXPIRED_INVITATION_RETENTION ago,
    whether they were used, revoked or left."""

    def job() -> InvitationPurgeReport:
        report = InvitationPurgeReport(dry_run=dry_run)
        limit = timezone.now() - EXPIRED_INVITATION_RETENTION
        report.deleted = delete_in_batches(
            Invitation.objects.filter(expires_at__lt=limit), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_expired_invitations: %s", report)
    return report


# --- Expired sessions -------------------------------------------------------------------------


@dataclass
class SessionPurgeReport(JobReport):
    deleted: int = 0


def purge_expired_sessions(
    *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> SessionPurgeReport:
    """Delete the sessions past their idle timeout: Django never deletes them itself, and each
    log-in adds one (its row keeps the account's id until then)."""

    def job() -> SessionPurgeReport:
        report = SessionPurgeReport(dry_run=dry_run)
        expired = Session.objects.filter(expire_date__lt=timezone.now())
        report.deleted = delete_in_batches(expired, batch_size)
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("purge_expired_sessions: %s", report)
    return report
