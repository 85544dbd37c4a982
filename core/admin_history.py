"""Every admin of the fund's objects records its saves in the history (core.history) and shows
it on the object's "Historique" page, before → after per field (issue 17, item 3).

A test walks admin.site._registry and fails on an admin without this mixin (or an exemption).
"""

from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from . import history
from .models import HistoryEntry

HISTORY_PAGE_SIZE = 50


class HistoryAdminMixin:
    """Records the add and change forms (inlines too) and the deletions of the admin.

    An admin whose save_model calls services that record the change themselves (the accounts')
    sets `history_recorded_by_services`, so that the change is not written twice."""

    history_recorded_by_services = False

    def construct_change_message(self, request, form, formsets, add=False):
        # Django passes this to log_addition or log_change, which write the history from it.
        return {"form": form, "formsets": formsets or (), "add": add}

    def log_addition(self, request, obj, message):
        self._record_form(request, obj, message, HistoryEntry.Action.ADDITION)

    def log_change(self, request, obj, message):
        self._record_form(request, obj, message, HistoryEntry.Action.CHANGE)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            history.record(by=request.user, obj=obj, action=HistoryEntry.Action.DELETION)

    def _record_form(self, request, obj, message, action):
        if not isinstance(message, dict):  # a message of Django's own (there is none today)
            history.record(by=request.user, obj=obj, summary=str(message))
            return
        if not self.history_recorded_by_services:
            history.record(
                by=request.user,
                obj=obj,
                action=action,
                changes=history.form_changes(message["form"], add=message["add"]),
            )
        for formset in message["formsets"]:
            self._record_formset(request, obj, formset)

    def _record_formset(self, request, parent, formset) -> None:
        """Each object of an inline in its own history, and a line in the parent's."""
        for form in formset.forms:
            if not form.has_changed() or form.instance.pk is None:
                continue
            inline_obj = form.instance
            if formset.can_delete and formset._should_delete_form(form):
                action, summary = HistoryEntry.Action.DELETION, _("%(objet)s supprimée")
                lines = []
            else:
                added = form not in formset.initial_forms
                action = HistoryEntry.Action.ADDITION if added else HistoryEntry.Action.CHANGE
                summary = _("%(objet)s ajoutée") if added else _("%(objet)s modifiée")
                lines = history.change_lines(
                    type(inline_obj), history.form_changes(form, add=added)
                )
            history.record(by=request.user, obj=inline_obj, action=action, lines=lines)
            label = f"{capfirst(inline_obj._meta.verbose_name)} « {inline_obj} »"
            history.record(
                by=request.user, obj=parent, summary=summary % {"objet": label}, lines=lines
            )

    def history_view(self, request, object_id, extra_context=None):
        """Django's history page, on the lines of core.history: each field before → after."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        entries = HistoryEntry.objects.for_object(obj).select_related("by")
        paginator = self.get_paginator(request, entries, HISTORY_PAGE_SIZE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Historique : %s") % obj,
            "subtitle": None,
            "action_list": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            "deleted_account": history.DELETED_ACCOUNT,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/history_of_changes.html", context)
