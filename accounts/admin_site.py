from django.contrib import admin

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

    def index(self, request, extra_context=None):
        """The side panel "Mes actions" reads the history of changes (core.history), which
        replaced Django's own log."""
        my_changes = HistoryEntry.objects.filter(by=request.user).select_related("content_type")
        return super().index(request, {"my_changes": my_changes[:10], **(extra_context or {})})
