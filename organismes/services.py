"""What a structure's gestionnaire changes about the structure itself (SPEC §8)."""

from django.db import transaction

from accounts.models import User, apply_changes

from .models import StructureEvent, StructurePartenaire

# The address and the phone; the name and the SIRET are the fund's (they are on the convention).
COORDONNEES_FIELDS = ("adresse", "code_postal", "ville", "telephone")


@transaction.atomic
def update_coordonnees(
    *, by: User, structure: StructurePartenaire, data: dict
) -> dict[str, list[str]]:
    """Change the structure's address and phone; returns {field: [before, after]}, which the
    structure's history keeps too."""
    structure = StructurePartenaire.objects.select_for_update().get(pk=structure.pk)
    changes = apply_changes(structure, COORDONNEES_FIELDS, data)
    if changes:
        structure.save(update_fields=list(changes))
        StructureEvent.objects.create(
            structure=structure,
            kind=StructureEvent.Kind.COORDONNEES_MODIFIED,
            by=by,
            details={"changes": changes},
        )
    return changes
