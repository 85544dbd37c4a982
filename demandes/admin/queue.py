"""The fund's work queue (SPEC §10, issue 18 items 2 and 5): who owns each demande, the list's
filters by owner, and the bulk actions of the list.

A bulk action runs the single action's service on each selected demande, each in its own
transaction under the demande's row lock, and shows demande by demande what was done and what
was refused and why. A selected demande outside the agent's scope (another organisme's) is
never looked up: it is reported by its number only, refused.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import User
from organismes.scoping import of_own_organisme

from .. import services
from ..models import Statut
from .choices import agent_choices
from .processing import AttributionForm, ComplementForm, message_field


def agents_in_scope(user):
    """The active agents this person may hand a demande to: those of their organisme."""
    return of_own_organisme(user, User.objects.agents().active()).in_list_order()


class BulkClotureForm(forms.Form):
    # The single close's answer; no file: documents are joined one demande at a time.
    reponse = message_field(_lazy("Réponse, la même pour chaque demande"))


class QueueFilter(admin.SimpleListFilter):
    """A filter of the work queue whose restriction the admin's index reuses for its counts
    (dashboard.py): `restrict` says what a value keeps, for the list and for the count alike."""

    @staticmethod
    def restrict(request, queryset, value):
        raise NotImplementedError

    def queryset(self, request, queryset):
        return self.restrict(request, queryset, self.value())


class AttributionFilter(QueueFilter):
    """Mine, nobody's, an inactivated agent's (to reassign), or a colleague's."""

    title = _lazy("attribution")
    parameter_name = "attribution"

    def lookups(self, request, model_admin):
        return [
            ("moi", _("Mes demandes")),
            ("personne", _("Non attribuées")),
            ("inactif", _("D'un agent inactivé (à réattribuer)")),
            *agent_choices(request.user),  # agents_in_scope, read by hand-written SQL
        ]

    @staticmethod
    def restrict(request, queryset, value):
        if value == "moi":
            return queryset.filter(assigned_to=request.user)
        if value == "personne":
            return queryset.filter(assigned_to__isnull=True)
        if value == "inactif":
            return queryset.assigned_to_inactive_agents()
        if value and value.isascii() and value.isdigit():
            return queryset.filter(assigned_to_id=int(value))
        return queryset


class OuverteFilter(QueueFilter):
    """Open (not closed yet) or closed: what is still to do."""

    title = _lazy("avancement")
    parameter_name = "ouverte"

    def lookups(self, request, model_admin):
        return (("oui", _lazy("non clôturées")), ("non", _lazy("clôturées")))

    @staticmethod
    def restrict(request, queryset, value):
        if value == "oui":
            return queryset.open()
        if value == "non":
            return queryset.filter(statut=Statut.CLOTUREE)
        return queryset


class AttenteFilter(QueueFilter):
    """The demandes waiting for the partner's answer (a complement, or a message of the fund
    with "réponse attendue"), issue 19 item 6."""

    title = _lazy("réponse du partenaire")
    parameter_name = "attente"

    def lookups(self, request, model_admin):
        return (("partenaire", _lazy("en attente du partenaire")),)

    @staticmethod
    def restrict(request, queryset, value):
        if value == "partenaire":
            return queryset.awaiting_the_partner()
        return queryset


class NonLusFilter(QueueFilter):
    """The demandes with a partner's message nobody at the fund has read yet."""

    title = _lazy("messages")
    parameter_name = "non_lus"

    def lookups(self, request, model_admin):
        return (("oui", _lazy("avec des messages non lus")),)

    @staticmethod
    def restrict(request, queryset, value):
        if value == "oui":
            return queryset.unread_by_the_fund()
        return queryset


class BulkActionsAdminMixin:
    """DemandeAdmin's bulk actions: one service per demande, a report line per demande."""

    actions = (
        "prendre_en_charge_selection",
        "attribuer_selection",
        "demander_complement_selection",
        "cloturer_selection",
    )

    def has_process_permission(self, request) -> bool:
        return self.can_process(request)

    def selected_ids(self, request) -> list[int]:
        ids = request.POST.getlist(ACTION_CHECKBOX_NAME)
        return list(dict.fromkeys(int(pk) for pk in ids if pk.isascii() and pk.isdigit()))

    def ask(self, request, *, action: str, title: str, submit_label: str, form):
        return TemplateResponse(
            request,
            "admin/demandes/demande/bulk_form.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                "form": form,
                "action": action,
                "submit_label": submit_label,
                "selected": self.selected_ids(request),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def run_on_each(self, request, queryset, operation, *, title: str, **kwargs):
        """The service on each selected demande (each its own transaction), and the report."""
        # The checked demandes only, a page at most: "select all" across the pages would run
        # thousands of services in one request.
        selected = self.selected_ids(request)
        found = {demande.pk: demande for demande in queryset.filter(pk__in=selected)}
        lines = []
        for demande in found.values():
            try:
                operation(by=request.user, demande=demande, **kwargs)
            except services.DemandeRuleError as error:
                lines.append({"reference": demande.reference, "done": False, "reason": str(error)})
            else:
                lines.append({"reference": demande.reference, "done": True, "reason": ""})
        for pk in selected:
            if pk not in found:
                lines.append(
                    {
                        "reference": _("n° %(pk)s") % {"pk": pk},
                        "done": False,
                        "reason": _("Cette demande n'est pas celle de votre organisme."),
                    }
                )
        return TemplateResponse(
            request,
            "admin/demandes/demande/bulk_result.html",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                "lines": lines,
                "done": sum(line["done"] for line in lines),
                "refused": sum(not line["done"] for line in lines),
            },
        )

    def bulk_with_form(self, request, queryset, form, *, action, title, submit_label, run):
        if "apply" in request.POST and form.is_valid():
            return self.run_on_each(request, queryset, title=title, **run(form.cleaned_data))
        return self.ask(request, action=action, title=title, submit_label=submit_label, form=form)

    @admin.action(permissions=("process",), description=_lazy("Prendre en charge"))
    def prendre_en_charge_selection(self, request, queryset):
        return self.run_on_each(
            request, queryset, services.prendre_en_charge, title=_("Prendre en charge")
        )

    @admin.action(permissions=("process",), description=_lazy("Attribuer à…"))
    def attribuer_selection(self, request, queryset):
        form = AttributionForm(
            request.POST if "apply" in request.POST else None,
            agents=agents_in_scope(request.user),
            required=True,
        )
        return self.bulk_with_form(
            request,
            queryset,
            form,
            action="attribuer_selection",
            title=_("Attribuer les demandes sélectionnées"),
            submit_label=_("Attribuer"),
            run=lambda data: {"operation": services.attribuer, "agent": data["agent"]},
        )

    @admin.action(permissions=("process",), description=_lazy("Demander un complément"))
    def demander_complement_selection(self, request, queryset):
        form = ComplementForm(request.POST if "apply" in request.POST else None)
        return self.bulk_with_form(
            request,
            queryset,
            form,
            action="demander_complement_selection",
            title=_("Demander un complément pour les demandes sélectionnées"),
            submit_label=_("Demander le complément"),
            run=lambda data: {
                "operation": services.demander_complement,
                "message": data["message"],
            },
        )

    @admin.action(permissions=("process",), description=_lazy("Clôturer avec une même réponse"))
    def cloturer_selection(self, request, queryset):
        form = BulkClotureForm(request.POST if "apply" in request.POST else None)
        return self.bulk_with_form(
            request,
            queryset,
            form,
            action="cloturer_selection",
            title=_("Clôturer les demandes sélectionnées"),
            submit_label=_("Clôturer les demandes"),
            run=lambda data: {"operation": services.cloturer, "reponse": data["reponse"]},
        )
