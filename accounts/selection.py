"""Which organismes a partner may work with, checked on every request (SPEC §3).

The access depends on the conventions' dates as they are now, not on a job having run: a
convention that ended yesterday grants nothing today.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from conventions.models import Convention
from organismes.models import Organisme, StructurePartenaire

# A convention ending within this many days shows its organisme in red with an asterisk.
ENDING_SOON_DAYS = 30


@dataclass(frozen=True)
class OrganismeChoice:
    organisme: Organisme
    convention: Convention  # the one that grants access now (or first, if none has started)
    ends_soon: bool

    @property
    def end_date(self) -> datetime.date | None:
        return self.convention.date_fin


def organisme_choices(
    structure: StructurePartenaire, today: datetime.date | None = None
) -> list[OrganismeChoice]:
    """The organismes with a convention en cours or à venir, by name; one query.

    A request's own reading is login_chain.organisme_choices_of (the same conventions, read
    with the user by hand-written SQL); this one serves everywhere else."""
    today = today or timezone.localdate()
    conventions = (
        Convention.objects.filter(structure=structure)
        .en_cours_ou_a_venir(today)
        .select_related("organisme")
        .order_by("organisme__nom", "organisme_id", "date_debut", "pk")
    )
    return choices_from(conventions, today)


def choices_from(conventions, today: datetime.date) -> list[OrganismeChoice]:
    """The choices of these conventions (en cours or à venir on `today`, organismes attached,
    by organisme's name, organisme, start): one per organisme, by name."""
    by_organisme: dict[int, list[Convention]] = {}
    for convention in conventions:
        by_organisme.setdefault(convention.organisme_id, []).append(convention)
    choices = []
    for same_organisme in by_organisme.values():
        current, later = same_organisme[0], same_organisme[1:]
        # A renewal already signed means nothing is about to end with this organisme.
        ends_soon = (
            not later
            and current.date_debut <= today
            and current.date_fin is not None
            and current.date_fin - today <= datetime.timedelta(days=ENDING_SOON_DAYS)
        )
        choices.append(OrganismeChoice(current.organisme, current, ends_soon))
    return choices
