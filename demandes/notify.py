"""The fund is told what arrives (issue 18, item 1; SPEC §10).

`fund_event(demande, kind)` is called inside the transaction of each event a partner causes (a
new demande, a complement provided, a partner's message): it records the event and writes, in
the same transaction, the e-mails of the agents of the demande's organisme who chose "à chaque
fois" for it (and the organisme's referent address for a new urgent demande), once each. The
daily digest (`send_daily_digests`, a job) gives every other agent what they chose to read in
it, and their organisme's overdue demandes.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from core.jobs import JobReport, delete_in_batches, for_each_locked_batch, run_job
from notifications.services import EmailToSend, schedule_emails

from .models import Demande, FundEvent, NotificationPreferences

logger = logging.getLogger(__name__)

Event = FundEvent.Kind
Choice = NotificationPreferences.Choice

IMMEDIATE_TEMPLATE = "demandes/fonds_evenement"
DIGEST_TEMPLATE = "demandes/fonds_resume"
BATCH_SIZE = 200
# How many overdue demandes a digest lists (the count says the rest, the link shows them all).
DIGEST_OVERDUE_LISTED = 20
# The events are read by the next digests, then deleted: long enough for an agent back from a
# week off, not a log (the timeline is the demande's history).
FUND_EVENT_RETENTION = datetime.timedelta(days=30)
# The first digest of an agent covers the day before.
FIRST_DIGEST_PERIOD = datetime.timedelta(days=1)


def admin_link(demande_id: int) -> str:
    return settings.SITE_URL + reverse("admin:demandes_demande_change", args=[demande_id])


def _demande_line(demande: Demande) -> dict:
    """What an e-mail says of a demande: no insured person's name, nor any text of theirs."""
    return {
        "reference": demande.reference,
        "offre": demande.offre.libelle,
        "structure": demande.structure.nom,
        "urgent": demande.urgent,
        "link": admin_link(demande.pk),
    }


def _agents_choosing(organisme_id: int, kind: str, choice: str):
    """The organisme's active agents whose choice for `kind` is `choice` (the default when
    they have no preferences row), in one query."""
    return (
        User.objects.agents()
        .active()
        .filter(organisme_id=organisme_id)
        .alias(
            choix=Coalesce(
                F(f"notification_preferences__{kind}"),
                Value(NotificationPreferences.default(kind)),
            )
        )
        .filter(choix=choice)
        .order_by("pk")
    )


def fund_event(demande: Demande, kind: str) -> FundEvent:
    """Record a partner's event on `demande` for its organisme's agents and write its
    immediate e-mails, in the caller's transaction (a rollback takes both away)."""
    event = FundEvent.objects.create(demande=demande, organisme_id=demande.organisme_id, kind=kind)
    recipients: dict[str, User | None] = {}
    if kind == Event.NOUVELLE_URGENTE:
        recipients[demande.organisme.email_referent.lower()] = None
    for agent in _agents_choosing(demande.organisme_id, kind, Choice.IMMEDIAT):
        recipients.setdefault(agent.email.lower(), agent)
    context = {
        "evenement": str(Event(kind).label),
        "urgent": kind == Event.NOUVELLE_URGENTE,
        "organisme": demande.organisme.nom,
        "categorie_urgence": str(demande.get_categorie_urgence_display()) if demande.urgent else "",
        "preferences_link": settings.SITE_URL + reverse("admin:demandes_demande_notifications"),
        **_demande_line(demande),
    }
    schedule_emails(
        EmailToSend(IMMEDIATE_TEMPLATE, email, context, account=agent)
        for email, agent in recipients.items()
    )
    return event


# --- The daily digest -----------------------------------------------------------------------


@dataclass
class DigestReport(JobReport):
    digests: int = 0
    events_deleted: int = 0


def _digest_kinds(prefs: NotificationPreferences) -> list[str]:
    return [kind for kind in Event.values if prefs.choice(kind) == Choice.RESUME]


def digests_due(today: datetime.date):
    """The preferences of active agents who read at least one kind of event in the digest and
    have not had today's."""
    in_digest = Q()
    for kind in Event.values:
        in_digest |= Q(**{kind: Choice.RESUME})
    return NotificationPreferences.objects.filter(
        in_digest,
        Q(digest_sent_on__isnull=True) | Q(digest_sent_on__lt=today),
        agent__is_active=True,
        agent__role="agent",
        agent__organisme__isnull=False,
    )


def _ensure_preferences() -> None:
    """A row for every active agent (with the defaults), so that the job locks and marks one."""
    missing = (
        User.objects.agents()
        .active()
        .filter(organisme__isnull=False, notification_preferences__isnull=True)
        .values_list("pk", flat=True)
    )
    NotificationPreferences.objects.bulk_create(
        (NotificationPreferences(agent_id=pk) for pk in missing), ignore_conflicts=True
    )


def send_daily_digests(*, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> DigestReport:
    """One digest per agent per day (SPEC §10), at JOB_TIME_DIGEST: the events since their last
    digest of the kinds they read in it, and their organisme's overdue demandes; nothing when
    both are empty. Batches locked with SKIP LOCKED, each agent marked under the lock."""

    def job() -> DigestReport:
        report = DigestReport(dry_run=dry_run)
        now = timezone.now()
        today = timezone.localdate(now)
        _ensure_preferences()

        def send(batch: list[NotificationPreferences]) -> None:
            report.digests += _digest_batch(batch, now, today)

        for_each_locked_batch(digests_due(today), send, batch_size)
        report.events_deleted = delete_in_batches(
            FundEvent.objects.filter(at__lt=now - FUND_EVENT_RETENTION), batch_size
        )
        return report

    report = run_job(job, dry_run=dry_run)
    logger.info("send_daily_digests: %s", report)
    return report


def _digest_batch(
    batch: list[NotificationPreferences], now: datetime.datetime, today: datetime.date
) -> int:
    """The digests of a batch of agents: four queries, however many agents."""
    agents = {
        agent.pk: agent
        for agent in User.objects.filter(pk__in=[p.agent_id for p in batch]).select_related(
            "organisme"
        )
    }
    organisme_ids = {agent.organisme_id for agent in agents.values()}
    since = min(p.digest_covered_until or now - FIRST_DIGEST_PERIOD for p in batch)
    events = defaultdict(list)
    for event in (
        FundEvent.objects.filter(organisme_id__in=organisme_ids, at__gt=since, at__lte=now)
        .select_related("demande__offre", "demande__structure")
        .order_by("at", "pk")
    ):
        events[event.organisme_id].append(event)
    overdue, overdue_count = _overdue_of(organisme_ids, today)

    emails = []
    for prefs in batch:
        agent = agents[prefs.agent_id]
        start = prefs.digest_covered_until or now - FIRST_DIGEST_PERIOD
        kinds = _digest_kinds(prefs)
        lines = [
            {
                "evenement": str(event.get_kind_display()),
                "at": date_format(timezone.localtime(event.at), "j F H:i"),
                **_demande_line(event.demande),
            }
            for event in events[agent.organisme_id]
            if event.kind in kinds and event.at > start
        ]
        late = overdue[agent.organisme_id]
        if not lines and not late:
            continue
        emails.append(
            EmailToSend(
                DIGEST_TEMPLATE,
                agent.email,
                {
                    "prenom_nom": agent.get_full_name(),
                    "organisme": agent.organisme.nom,
                    "date": date_format(today, "l j F Y"),
                    "evenements": lines,
                    "en_retard": late,
                    "en_retard_total": overdue_count[agent.organisme_id],
                    "en_retard_link": settings.SITE_URL
                    + reverse("admin:demandes_demande_changelist")
                    + "?en_retard=oui",
                    "preferences_link": settings.SITE_URL
                    + reverse("admin:demandes_demande_notifications"),
                },
                account=agent,
            )
        )
    schedule_emails(emails)
    NotificationPreferences.objects.filter(pk__in=[p.pk for p in batch]).update(
        digest_sent_on=today, digest_covered_until=now
    )
    logger.info("send_daily_digests: %s digest(s) for agents %s", len(emails), sorted(agents))
    return len(emails)


def _overdue_of(organisme_ids: set[int], today: datetime.date) -> tuple[dict, dict]:
    """The oldest overdue demandes of each organisme (DIGEST_OVERDUE_LISTED at most) and their
    number, in one query (a window numbers and counts them per organisme)."""
    rows = (
        Demande.objects.en_retard(today)
        .filter(organisme_id__in=organisme_ids)
        .select_related("offre", "structure", "organisme")
        .annotate(
            rang=Window(RowNumber(), partition_by="organisme_id", order_by=("created_at", "pk")),
            total=Window(Count("pk"), partition_by="organisme_id"),
        )
        .filter(rang__lte=DIGEST_OVERDUE_LISTED)
        .order_by("organisme_id", "created_at", "pk")
    )
    listed, counts = defaultdict(list), defaultdict(int)
    for demande in rows:
        listed[demande.organisme_id].append(
            {
                **_demande_line(demande),
                "sent_on": date_format(timezone.localtime(demande.created_at), "j F Y"),
                "age": demande.age_jours_ouvres(today),
            }
        )
        counts[demande.organisme_id] = demande.total
    return listed, counts
