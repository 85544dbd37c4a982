"""The usual processing time shown to partners (issue 18, item 6; SPEC §10): the 9th decile of
the time to close of an offer's demandes with an organisme, over the last 90 days, from 20
closed demandes (fewer would say more about chance than about the fund).

One query: the window functions rank every closure of the period (CUME_DIST) and count them,
and the first duration at or past 90 % is the answer; it reads only that offer's closures of
the period (demande_delai_habituel_idx). The pages read it through a cache, for an hour per
(organisme, offer): a figure over 90 days does not move within the hour (docs/decisions.md).
"""

import datetime
import math

from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Window
from django.db.models.functions import CumeDist
from django.utils import timezone

from conventions.models import Offre
from organismes.models import Organisme

from .models import Demande, Statut

PERIOD = datetime.timedelta(days=90)
MIN_CLOSED = 20
DECILE = 0.9
CACHE_SECONDS = 3600


def usual_processing_days(
    organisme: Organisme, offre: Offre, *, now: datetime.datetime | None = None
) -> int | None:
    """Days (calendar days, rounded up) within which 9 out of 10 of the demandes closed in the
    last 90 days were closed; None under MIN_CLOSED of them."""
    now = now or timezone.now()
    duree = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
    row = (
        Demande.objects.filter(
            organisme=organisme,
            offre=offre,
            statut=Statut.CLOTUREE,
            closed_at__gte=now - PERIOD,
            closed_at__lte=now,
        )
        .annotate(
            duree=duree,
            rang=Window(CumeDist(), order_by=duree.asc()),
            total=Window(Count("pk")),
        )
        .filter(rang__gte=DECILE)
        .order_by("duree")
        .values_list("duree", "total")
        .first()
    )
    if row is None or row[1] < MIN_CLOSED:
        return None
    return max(1, math.ceil(row[0] / datetime.timedelta(days=1)))


def usual_processing_days_cached(organisme: Organisme, offre: Offre) -> int | None:
    """usual_processing_days, computed at most once an hour per (organisme, offer)."""
    key = f"demandes:delai-habituel:{organisme.pk}:{offre.pk}"
    days = cache.get(key)
    if days is None:
        days = usual_processing_days(organisme, offre) or 0  # 0: nothing to show, cached too
        cache.set(key, days, CACHE_SECONDS)
    return days or None
