"""The counts of an agent's work queue on the admin's index (issue 19, item 6): each one is the
list's own filters (queue.py, changelist.py) applied to the agent's organisme's demandes, and
links to the list so filtered, so that the count and the list can never disagree."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from organismes.scoping import of_own_organisme

from ..models import Demande
from .changelist import OverdueFilter
from .queue import AttenteFilter, AttributionFilter, NonLusFilter, OuverteFilter

# Each count: its sentences (none, singular, plural; "0" takes the singular in French, the
# catalogue-less fallback of ngettext the plural: none has its own words) and the filters'
# values of its list.
ENTRIES = (
    (
        (
            "Aucune demande ne vous est attribuée",
            "%(count)d demande vous est attribuée",
            "%(count)d demandes vous sont attribuées",
        ),
        ((AttributionFilter, "moi"), (OuverteFilter, "oui")),
    ),
    (
        (
            "Aucune demande non attribuée",
            "%(count)d demande n'est attribuée à personne",
            "%(count)d demandes ne sont attribuées à personne",
        ),
        ((AttributionFilter, "personne"), (OuverteFilter, "oui")),
    ),
    (
        (
            "Aucune demande en retard",
            "%(count)d demande est en retard",
            "%(count)d demandes sont en retard",
        ),
        ((OverdueFilter, "oui"),),
    ),
    (
        (
            "Aucune demande n'attend la réponse du partenaire",
            "%(count)d demande attend la réponse du partenaire",
            "%(count)d demandes attendent la réponse du partenaire",
        ),
        ((AttenteFilter, "partenaire"),),
    ),
    (
        (
            "Aucun message du partenaire non lu",
            "%(count)d demande a des messages du partenaire non lus",
            "%(count)d demandes ont des messages du partenaire non lus",
        ),
        ((NonLusFilter, "oui"),),
    ),
)


@dataclass
class QueueCount:
    count: int
    label: str
    url: str


def queue_counts(request) -> list[QueueCount]:
    """The agent's queue in figures: one COUNT per entry (and the target delays, once per
    "en retard"), whatever the number of demandes."""
    changelist = reverse("admin:demandes_demande_changelist")
    counts = []
    for (none, singular, plural), filters in ENTRIES:
        demandes = of_own_organisme(request.user, Demande.objects.all())
        for filter_class, value in filters:
            demandes = filter_class.restrict(request, demandes, value)
        count = demandes.count()
        query = urlencode({filter_class.parameter_name: value for filter_class, value in filters})
        label = ngettext(singular, plural, count) % {"count": count} if count else _(none)
        counts.append(QueueCount(count, label, f"{changelist}?{query}"))
    return counts
