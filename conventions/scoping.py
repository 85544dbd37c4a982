"""What an agent de caisse may see of what conventions link to their organisme: the conventions
themselves, and the structures that have (or had) one with it (organismes.scoping for the rest)."""

from django.db.models import QuerySet

from organismes.models import Organisme, StructurePartenaire
from organismes.scoping import of_own_organisme

from .models import Convention


def structures_of(organisme: Organisme | int) -> QuerySet:
    """Structures that have (or had) a convention with this organisme."""
    return StructurePartenaire.objects.filter(
        pk__in=Convention.objects.filter(organisme=organisme).values("structure_id")
    )


def structures_in_scope(user) -> QuerySet:
    if user.is_superuser:
        return StructurePartenaire.objects.all()
    if user.is_agent and user.is_active:
        return structures_of(user.organisme_id)
    return StructurePartenaire.objects.none()


def conventions_in_scope(user) -> QuerySet:
    return of_own_organisme(user, Convention.objects.all())
