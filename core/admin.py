from django.contrib import admin

from .admin_readonly import ReadOnlyAdminMixin
from .models import HistoryEntry


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every line of the history, for national administrators (the DPO's questions: what did
    this agent change?). Read-only: the history is append-only."""

    list_display = ("at", "by", "by_role", "content_type", "object_repr", "action", "summary")
    list_filter = ("action", "content_type")
    list_select_related = ("by", "content_type")
    search_fields = ("object_repr", "by__identifiant", "by__nom_usuel", "by__nom_patronymique")
    date_hierarchy = "at"
    fields = (*list_display, "object_id", "changes", "reason")
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
