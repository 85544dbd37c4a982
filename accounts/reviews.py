"""When a structure's 'Revue des habilitations' is due (SPEC §10): HABILITATION_REVIEW_MONTHS
after its last review, else after its first convention's start (else its creation, while no
convention has started). Only structures with something to review: a convention en cours or à
venir, an active technicien, access not suspended. One definition for the job that asks the
gestionnaires, their home page and the fund's "revue en retard" filter."""

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from conventions.models import Convention
from core.months import months_before
from organismes.models import StructurePartenaire

from .models import HabilitationReview, User


def review_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """A structure whose period started at or before this moment is due."""
    # In local time: "6 months ago" is the same hour on the wall clock, across a DST change.
    return months_before(timezone.localtime(now), settings.HABILITATION_REVIEW_MONTHS)


def last_review(field: str = "at") -> Subquery:
    """`field` of the structure's (OuterRef pk) last review."""
    return Subquery(
        HabilitationReview.objects.filter(structure=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values(field)[:1]
    )


def first_convention_start(today: datetime.date) -> Subquery:
    """The start of the structure's (OuterRef pk) first convention started by `today`."""
    return Subquery(
        Convention.objects.filter(structure=OuterRef("pk"), date_debut__lte=today)
        .order_by("date_debut")
        .values("date_debut")[:1]
    )


def due_for_review(
    queryset: QuerySet[StructurePartenaire], now: datetime.datetime | None = None
) -> QuerySet[StructurePartenaire]:
    cutoff = review_cutoff(now)
    today = timezone.localdate(now)
    return (
        queryset.filter(suspended_at__isnull=True)
        .filter(
            Exists(Convention.objects.filter(structure=OuterRef("pk")).en_cours_ou_a_venir(today))
        )
        .filter(Exists(User.objects.techniciens().active().filter(structure=OuterRef("pk"))))
        .alias(last_review_at=last_review(), first_start=first_convention_start(today))
        .filter(
            Q(last_review_at__lte=cutoff)
            | Q(last_review_at__isnull=True)
            & (
                Q(first_start__lte=cutoff.date())
                | Q(first_start__isnull=True, created_at__lte=cutoff)
            )
        )
    )


def is_due_for_review(structure: StructurePartenaire) -> bool:
    return due_for_review(StructurePartenaire.objects.filter(pk=structure.pk)).exists()


def next_review_date(
    structure: StructurePartenaire, now: datetime.datetime | None = None
) -> datetime.date:
    """The day the structure's next review falls due (the gestionnaire's home page, issue 19
    item 6): HABILITATION_REVIEW_MONTHS after the start of its period, as due_for_review counts
    it; a day already past while the review is due. One query."""
    today = timezone.localdate(now)
    start = (
        StructurePartenaire.objects.filter(pk=structure.pk)
        .annotate(last_review_at=last_review(), first_start=first_convention_start(today))
        .values("last_review_at", "first_start", "created_at")
        .get()
    )
    if start["last_review_at"] is not None:
        period_start = timezone.localdate(start["last_review_at"])
    else:
        period_start = start["first_start"] or timezone.localdate(start["created_at"])
    return months_before(period_start, -settings.HABILITATION_REVIEW_MONTHS)
