"""The access log in the admin: superusers read it, filter it by account, search it by
reference, and export it; nobody adds, changes or deletes a row (its purge alone does)."""

import io

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from core.spreadsheets import SpreadsheetWriter

from .models import AccessLogEntry
from .services import record_access

EXPORT_COLUMNS = (
    _("Date"),
    _("Compte"),
    _("Action"),
    _("Objet"),
    _("Identifiant de l'objet"),
    _("Référence"),
    _("Adresse du client"),
)
EXPORT_CHUNK_SIZE = 2000


class StaffAccountFilter(admin.RelatedFieldListFilter):
    """The fund's staff (agents de caisse and administrators), who alone are logged: Django's
    default would list every account, the partners' thousands included."""

    def field_choices(self, field, request, model_admin):
        accounts = field.related_model.objects
        staff = accounts.agents() | accounts.filter(is_superuser=True)
        return list(staff.order_by("identifiant").values_list("pk", "identifiant"))


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "qui", "action", "object_type", "object_id", "reference", "client_ip")
    list_filter = (("user", StaffAccountFilter), "action", "object_type")
    search_fields = ("=reference", "=user_label")
    search_help_text = _(
        "Référence exacte de la demande (EP-2026-000123) ou identifiant du compte."
    )
    date_hierarchy = "at"
    fields = list_display
    readonly_fields = list_display
    actions = ("export_csv",)
    # A COUNT(*) of the whole log at every page is what makes a big admin list slow.
    show_full_result_count = False
    list_per_page = 100

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("compte"), ordering="user_label")
    def qui(self, entry: AccessLogEntry) -> str:
        return entry.who

    @admin.action(description=_("Exporter la sélection (CSV)"))
    def export_csv(self, request, queryset) -> StreamingHttpResponse:
        """A CSV of the selected rows, streamed (a year of log does not fit in memory); the
        export is itself a row of the log, left out of the file it makes."""
        export = record_access(
            request,
            AccessLogEntry.Action.EXPORT_ACCESS_LOG,
            object_type=AccessLogEntry.ObjectType.JOURNAL,
        )
        rows = (
            queryset.exclude(pk=export.pk)
            .order_by("at", "pk")
            .iterator(chunk_size=EXPORT_CHUNK_SIZE)
        )
        filename = f"journal-des-acces-{timezone.localdate():%Y-%m-%d}.csv"
        response = StreamingHttpResponse(_csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _csv_lines(entries):
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)

    def line(row) -> str:
        writer.writerow(row)
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    yield "\ufeff" + line(EXPORT_COLUMNS)  # the BOM makes spreadsheet programs read UTF-8
    for entry in entries:
        yield line(
            (
                date_format(timezone.localtime(entry.at), "d/m/Y H:i:s"),
                entry.who,
                entry.get_action_display(),
                entry.get_object_type_display(),
                entry.object_id if entry.object_id is not None else "",
                entry.reference,
                entry.client_ip or "",
            )
        )
