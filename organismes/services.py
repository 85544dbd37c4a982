"""What is done to a structure itself: its coordinates by its gestionnaire (SPEC §8), its access
by the fund (SPEC §7)."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import history
from core.changes import apply_changes

from .models import StructureEvent, StructurePartenaire

# The address and the phone; the name and the SIRET are the fund's (they are on the convention).
COORDONNEES_FIELDS = ("adresse", "code_postal", "ville", "telephone")


def _lock(structure: StructurePartenaire) -> StructurePartenaire:
    return StructurePartenaire.objects.select_for_update().get(pk=structure.pk)


@transaction.atomic
def update_coordonnees(
    *, by: AbstractBaseUser, structure: StructurePartenaire, data: dict
) -> dict[str, list[str]]:
    """Change the structure's address and phone; returns {field: [before, after]}, which the
    structure's history keeps too."""
    structure = _lock(structure)
    changes = apply_changes(structure, COORDONNEES_FIELDS, data)
    if changes:
        structure.save(update_fields=list(changes))
        StructureEvent.objects.create(
            structure=structure,
            kind=StructureEvent.Kind.COORDONNEES_MODIFIED,
            by=by,
            details={"changes": changes},
        )
        history.record(by=by, obj=structure, changes=changes, summary=_("Coordonnées modifiées"))
    return changes


@transaction.atomic
def suspend_structure(*, by: AbstractBaseUser, structure: StructurePartenaire, reason: str) -> None:
    """The fund cuts a structure's access at once (SPEC §7): no account of it can log in."""
    structure = _lock(structure)
    if structure.suspended_at is None:
        changes = apply_changes(
            structure,
            ("suspended_at", "motif_suspension"),
            {"suspended_at": timezone.now(), "motif_suspension": reason},
        )
        structure.save(update_fields=["suspended_at", "motif_suspension"])
        history.record(by=by, obj=structure, changes=changes, summary=_("Suspension de l'accès"))


@transaction.atomic
def lift_suspension(*, by: AbstractBaseUser, structure: StructurePartenaire) -> None:
    """The access open again; the structure forgets the reason, its history keeps it (the
    line of the lifting shows it as the value before)."""
    structure = _lock(structure)
    if structure.suspended_at is None:
        return
    changes = apply_changes(
        structure,
        ("suspended_at", "motif_suspension"),
        {"suspended_at": None, "motif_suspension": ""},
    )
    structure.save(update_fields=["suspended_at", "motif_suspension"])
    history.record(by=by, obj=structure, changes=changes, summary=_("Levée de la suspension"))
