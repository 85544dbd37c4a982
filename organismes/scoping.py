"""What a member of the fund's staff may see: the objects of their organisme, or everything.

Every admin queryset and every choice list goes through these functions (and those of
conventions.scoping, for what a convention links to an organisme), so that another organisme's
object is simply not found (404), never fetched and then refused.
"""

from django.db.models import QuerySet
from django.http import Http404


def of_own_organisme(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` (a model with an `organisme`) that belong to the agent's organisme;
    all of them for a superuser, none for anyone else."""
    if user.is_superuser:
        return queryset
    if user.is_agent and user.is_active:
        return queryset.filter(organisme_id=user.organisme_id)
    return queryset.none()


class OrganismeScopedAdminMixin:
    """Admin mixin: `scope(request, queryset)` narrows every list, choice and object URL."""

    def scope(self, request, queryset: QuerySet) -> QuerySet:
        raise NotImplementedError

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        # Django's admin redirects to the index for an unknown object; another organisme's
        # object must look exactly like one that does not exist: a 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj
