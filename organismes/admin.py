from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_actions import ask_reason
from core.admin_history import HistoryAdminMixin

from . import services
from .models import Organisme, StructurePartenaire
from .scoping import OrganismeScopedAdminMixin


@admin.register(Organisme)
class OrganismeAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = (
        "nom",
        "code",
        "email_referent",
        "delai_purge_mois",
        "delai_conservation_demandes_mois",
        "delai_cible_urgent_jours",
        "delai_cible_jours",
    )
    search_fields = ("nom", "code")


class SuspensionFilter(admin.SimpleListFilter):
    title = _("accès")
    parameter_name = "suspendue"

    def lookups(self, request, model_admin):
        return (("oui", _("suspendu")), ("non", _("ouvert")))

    def queryset(self, request, queryset):
        if self.value() == "oui":
            return queryset.filter(suspended_at__isnull=False)
        if self.value() == "non":
            return queryset.filter(suspended_at__isnull=True)
        return queryset


class StructurePartenaireAdmin(HistoryAdminMixin, OrganismeScopedAdminMixin, admin.ModelAdmin):
    """A structure's page and its suspension. An agent sees a structure through its conventions
    with their organisme: conventions.admin registers this class with its scope and its
    conventions inline."""

    list_display = (
        "nom",
        "siret",
        "ville",
        "nombre_membres",
        "comptes_actifs",
        "acces",
    )
    list_filter = (SuspensionFilter, ("conventions__organisme", admin.RelatedOnlyFieldListFilter))
    search_fields = ("nom", "siret", "ville", "code_postal")
    # Explicit: the Count annotation drops the model's default ordering, and the autocomplete
    # endpoint paginates this queryset.
    ordering = ("nom", "pk")
    readonly_fields = ("suspended_at", "motif_suspension")
    fieldsets = (
        (None, {"fields": ("nom", "siret", "nombre_membres")}),
        (_("Coordonnées"), {"fields": ("adresse", "code_postal", "ville", "telephone")}),
        (_("Accès"), {"fields": ("suspended_at", "motif_suspension")}),
    )
    actions = ("suspendre", "lever_suspension")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_comptes_actifs=Count("comptes", filter=Q(comptes__is_active=True)))
        )

    def get_list_filter(self, request):
        if request.user.is_superuser:
            return self.list_filter
        return (SuspensionFilter,)

    @admin.display(description=_("comptes actifs"), ordering="_comptes_actifs")
    def comptes_actifs(self, structure: StructurePartenaire) -> int:
        return structure._comptes_actifs

    @admin.display(description=_("accès"), boolean=True)
    def acces(self, structure: StructurePartenaire) -> bool:
        return not structure.is_suspendue

    @admin.action(
        permissions=("change",), description=_("Suspendre l'accès des structures sélectionnées")
    )
    def suspendre(self, request, queryset):
        motif = ask_reason(
            self,
            request,
            queryset,
            action="suspendre",
            intro=_(
                "Plus aucun compte de ces structures ne pourra se connecter, jusqu'à la levée "
                "de la suspension (par exemple : suspicion de fraude, perte d'identifiants) :"
            ),
            submit_label=_("Suspendre l'accès"),
        )
        if not isinstance(motif, str):
            return motif
        for structure in queryset:
            services.suspend_structure(by=request.user, structure=structure, reason=motif)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "L'accès de %(count)d structure est suspendu.",
                "L'accès de %(count)d structures est suspendu.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
        return None

    @admin.action(
        permissions=("change",), description=_("Lever la suspension des structures sélectionnées")
    )
    def lever_suspension(self, request, queryset):
        for structure in queryset.filter(suspended_at__isnull=False):
            services.lift_suspension(by=request.user, structure=structure)
        self.message_user(request, _("L'accès des structures sélectionnées est rétabli."))
