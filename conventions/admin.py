from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_history import HistoryAdminMixin
from organismes.admin import StructurePartenaireAdmin
from organismes.models import Organisme, StructurePartenaire
from organismes.scoping import OrganismeScopedAdminMixin

from .forms import ConventionAdminForm
from .models import Convention, Offre, default_quotas
from .scoping import conventions_in_scope, structures_in_scope


class EtatFilter(admin.SimpleListFilter):
    title = _("état")
    parameter_name = "etat"

    def lookups(self, request, model_admin):
        return Convention.Etat.choices

    def queryset(self, request, queryset):
        match self.value():
            case Convention.Etat.A_VENIR:
                return queryset.a_venir()
            case Convention.Etat.EN_COURS:
                return queryset.en_cours()
            case Convention.Etat.TERMINEE:
                return queryset.terminees()
        return queryset


class ConventionFieldsMixin:
    """Choices of an agent's convention form: their organisme only, their structures only."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        user = request.user
        if db_field.name == "organisme" and not user.is_superuser:
            kwargs["queryset"] = Organisme.objects.filter(pk=user.organisme_id)
            kwargs["initial"] = user.organisme_id
            kwargs["disabled"] = True
        if db_field.name == "structure":
            kwargs["queryset"] = structures_in_scope(user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Convention)
class ConventionAdmin(
    HistoryAdminMixin, ConventionFieldsMixin, OrganismeScopedAdminMixin, admin.ModelAdmin
):
    form = ConventionAdminForm
    list_display = (
        "reference",
        "structure",
        "organisme",
        "date_debut",
        "date_fin",
        "etat_display",
        "max_gestionnaires",
        "max_techniciens",
        "habilitee",
    )
    list_filter = (EtatFilter, "habilitee", ("organisme", admin.RelatedOnlyFieldListFilter))
    search_fields = ("reference", "structure__nom", "structure__siret")
    list_select_related = ("structure", "organisme")
    autocomplete_fields = ("structure",)
    date_hierarchy = "date_debut"
    fieldsets = (
        (None, {"fields": ("organisme", "structure", "reference")}),
        (_("Dates"), {"fields": ("date_debut", "date_fin")}),
        (_("Comptes"), {"fields": ("max_gestionnaires", "max_techniciens")}),
        (
            _("Offres de service"),
            {"fields": ("offres", "contact_reserve_aux_gestionnaires", "habilitee")},
        ),
    )

    def scope(self, request, queryset):
        return queryset & conventions_in_scope(request.user)

    @admin.display(description=_("état"))
    def etat_display(self, convention: Convention) -> str:
        etat = convention.etat()
        return format_html('<span class="etat etat-{}">{}</span>', etat.value, etat.label)

    def get_changeform_initial_data(self, request):
        """Quotas proposed from the size of the structure given in ?structure=…"""
        initial = super().get_changeform_initial_data(request)
        structure = structures_in_scope(request.user).filter(pk=initial.get("structure")).first()
        if structure is not None:
            gestionnaires, techniciens = default_quotas(structure.nombre_membres)
            initial.setdefault("max_gestionnaires", gestionnaires)
            initial.setdefault("max_techniciens", techniciens)
        return initial


# An agent's structure exists through its convention with their organisme: without one it would
# have no access and would leave the agent's scope at once (issue 19, item 10). Shown on the add
# page before the first try, and as the refusal instead of Django's "Veuillez soumettre au moins
# 1 formulaire."
CONVENTION_NEEDED = _(
    "Une structure se crée avec sa convention avec votre organisme : renseignez ci-dessous au "
    "moins la référence de la convention et sa date de début. Sans convention, la structure "
    "n'aurait aucun accès au portail et n'apparaîtrait pas dans votre liste."
)


class ConventionInlineFormSet(BaseInlineFormSet):
    default_error_messages = {"too_few_forms": CONVENTION_NEEDED}


class ConventionInline(ConventionFieldsMixin, admin.StackedInline):
    model = Convention
    form = ConventionAdminForm
    formset = ConventionInlineFormSet
    extra = 0
    fields = (
        "organisme",
        "reference",
        ("date_debut", "date_fin"),
        ("max_gestionnaires", "max_techniciens"),
        "offres",
        "contact_reserve_aux_gestionnaires",
        "habilitee",
    )
    show_change_link = True

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("organisme")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(organisme_id=request.user.organisme_id)

    def convention_required(self, request, obj) -> bool:
        return obj is None and not request.user.is_superuser

    def get_min_num(self, request, obj=None, **kwargs):
        return 1 if self.convention_required(request, obj) else 0

    def get_fieldsets(self, request, obj=None):
        if not self.convention_required(request, obj):
            return super().get_fieldsets(request, obj)
        return [(None, {"fields": self.fields, "description": CONVENTION_NEEDED})]

    def get_formset(self, request, obj=None, **kwargs):
        # min_num alone only displays the form: the server must refuse a request without it.
        kwargs.setdefault("validate_min", True)
        return super().get_formset(request, obj, **kwargs)


@admin.register(StructurePartenaire)
class StructureAdmin(StructurePartenaireAdmin):
    inlines = (ConventionInline,)

    def scope(self, request, queryset):
        return queryset.filter(pk__in=structures_in_scope(request.user).values("pk"))


@admin.register(Offre)
class OffreAdmin(HistoryAdminMixin, admin.ModelAdmin):
    list_display = ("libelle", "code", "ordre")
    ordering = ("ordre",)
