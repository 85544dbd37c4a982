from django.contrib import admin
from django.utils.functional import SimpleLazyObject

from core.models import HistoryEntry

from .second_factor import requires_second_factor


class AdminSite(admin.AdminSite):
    """The admin, for staff whose session gave its second factor when they need one (SPEC §10).

    AccountPolicyMiddleware sends an unverified agent to the second factor before any admin
    page; this is the second lock, should a page escape the middleware."""

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not requires_second_factor(request.user) or request.user.is_verified()

    def each_context(self, request):
        """The side menu's list of every app and model (`available_apps`: the permissions of
        each model) is built when a page renders the menu, not on every page: the agents' work
        queue does without it (issue 20, item 3)."""
        request._lazy_app_list = True
        try:
            return super().each_context(request)
        finally:
            del request._lazy_app_list

    def get_app_list(self, request, app_label=None):
        if app_label is None and getattr(request, "_lazy_app_list", False):
            return SimpleLazyObject(lambda: admin.AdminSite.get_app_list(self, request))
        return super().get_app_list(request, app_label)

    def index(self, request, extra_context=None):
        """The side panel "Mes actions" reads the history of changes (core.history), which
        replaced Django's own log."""
        my_changes = HistoryEntry.objects.filter(by=request.user).select_related("content_type")
        return super().index(request, {"my_changes": my_changes[:10], **(extra_context or {})})
