"""The fund decides the pré-inscriptions of its organisme, and reads its contact messages.

Both lists go through the organisme scope: an agent never sees, nor can act on, another
organisme's request (404). The pages are read-only; "Valider" and "Refuser" are admin actions,
also offered as buttons on the change page (they post to the list, like the action menu).
"""

from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_actions import ask_reason
from core.admin_history import HistoryAdminMixin
from organismes.scoping import OrganismeScopedAdminMixin, of_own_organisme

from . import services
from .models import MessageContact, PreInscription, Statut


class ByOrganismeScope(OrganismeScopedAdminMixin):
    def scope(self, request, queryset):
        return of_own_organisme(request.user, queryset)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # what the public typed is shown as it was typed

    def has_delete_permission(self, request, obj=None):
        return False


SIRET_WARNING = _("SIRET différent de celui de la structure de la convention")


@admin.register(PreInscription)
class PreInscriptionAdmin(HistoryAdminMixin, ByOrganismeScope, admin.ModelAdmin):
    change_form_template = "admin/inscriptions/preinscription/change_form.html"
    list_display = (
        "created_at",
        "structure_nom",
        "siret_display",
        "reference_convention",
        "convention_structure",
        "gestionnaire_display",
        "statut",
        "decided_at",
    )
    list_display_links = ("created_at", "structure_nom")
    list_filter = ("statut",)
    list_select_related = ("organisme", "convention__structure")
    search_fields = ("structure_nom", "siret", "reference_convention", "email")
    search_help_text = _("Nom de la structure, SIRET, référence de convention, e-mail.")
    actions = ("valider", "refuser")
    fieldsets = (
        (
            _("Décision"),
            {"fields": ("statut", "verification", "decided_by", "decided_at", "motif_refus")},
        ),
        (_("Convention"), {"fields": ("organisme", "reference_convention", "convention")}),
        (
            _("Structure saisie"),
            {
                "fields": (
                    "structure_nom",
                    "siret",
                    "adresse",
                    ("code_postal", "ville"),
                    "structure_telephone",
                )
            },
        ),
        (
            _("Premier gestionnaire"),
            {
                "fields": (
                    "civilite",
                    ("nom_patronymique", "nom_usuel", "prenom"),
                    "fonction",
                    "telephone",
                    "email",
                )
            },
        ),
        (
            _("Suite donnée"),
            {"fields": ("created_at", "cgu_version", "structure", "gestionnaire")},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in _flatten(fieldset[1]["fields"])]

    def get_ordering(self, request):
        # Pending requests first, the oldest first: what should be decided next.
        pending_first = Case(
            When(statut=Statut.EN_ATTENTE, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return [pending_first.asc(), "created_at", "pk"]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("inscriptions.change_preinscription")

    @admin.display(description=_("SIRET saisi"), ordering="siret")
    def siret_display(self, preinscription: PreInscription) -> str:
        if preinscription.siret_differs:
            return format_html(
                '{} <strong class="siret-warning">⚠ {}</strong>',
                preinscription.siret,
                SIRET_WARNING,
            )
        return preinscription.siret

    @admin.display(description=_("structure de la convention"))
    def convention_structure(self, preinscription: PreInscription) -> str:
        convention = preinscription.convention
        if convention is None:
            return "—"
        return f"{convention.structure.nom} ({convention.structure.siret})"

    @admin.display(description=_("gestionnaire"))
    def gestionnaire_display(self, preinscription: PreInscription) -> str:
        return preinscription.gestionnaire_display

    @admin.display(description=_("vérifications"))
    def verification(self, preinscription: PreInscription) -> str:
        """What the agent must look at before deciding, on the change page only."""
        convention = preinscription.convention
        if convention is None:
            return gettext("La convention n'existe plus : la demande ne peut qu'être refusée.")
        lines = [
            gettext("Structure de la convention : %(nom)s, SIRET %(siret)s.")
            % {"nom": convention.structure.nom, "siret": convention.structure.siret}
        ]
        if preinscription.siret_differs:
            lines.append(
                gettext(
                    "⚠ Le SIRET saisi (%(siret)s) n'est pas celui de la structure de la "
                    "convention : vérifiez auprès du partenaire avant de valider. Validée, la "
                    "demande rattache le gestionnaire à la structure de la convention."
                )
                % {"siret": preinscription.siret}
            )
        if preinscription.is_en_attente and services.is_claimed(convention):
            lines.append(
                gettext(
                    "⚠ La convention est déjà utilisée (gestionnaire actif ou pré-inscription "
                    "validée) : cette demande ne peut qu'être refusée."
                )
            )
        return format_html("{}", " ".join(str(line) for line in lines))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_decide"] = (
            obj is not None and obj.is_en_attente and self.has_decide_permission(request)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(permissions=("decide",), description=_("Valider les pré-inscriptions"))
    def valider(self, request, queryset):
        for preinscription in queryset.select_related(None).order_by("pk"):
            try:
                gestionnaire = services.validate_preinscription(
                    by=request.user, preinscription=preinscription
                )
            except services.InscriptionError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext(
                        "Pré-inscription de %(structure)s validée : le compte gestionnaire de "
                        "%(name)s est créé (identifiant %(identifiant)s) et reçoit son invitation."
                    )
                    % {
                        "structure": preinscription.structure_nom,
                        "name": gestionnaire.get_full_name(),
                        "identifiant": gestionnaire.identifiant,
                    },
                    messages.SUCCESS,
                )

    @admin.action(permissions=("decide",), description=_("Refuser les pré-inscriptions"))
    def refuser(self, request, queryset):
        motif = ask_reason(
            self,
            request,
            queryset,
            action="refuser",
            intro=_(
                "Le motif est envoyé par e-mail à l'auteur de chaque pré-inscription : dites-lui "
                "ce qui ne va pas et ce qu'il peut faire."
            ),
            submit_label=_("Refuser"),
        )
        if not isinstance(motif, str):
            return motif
        for preinscription in queryset.select_related(None).order_by("pk"):
            try:
                services.refuse_preinscription(
                    by=request.user, preinscription=preinscription, motif=motif
                )
            except services.InscriptionError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("Pré-inscription de %(structure)s refusée : l'auteur est prévenu.")
                    % {"structure": preinscription.structure_nom},
                    messages.SUCCESS,
                )
        return None


def _flatten(fields) -> list[str]:
    names = []
    for field in fields:
        names.extend(field if isinstance(field, tuple) else [field])
    return names


@admin.register(MessageContact)
class MessageContactAdmin(ByOrganismeScope, admin.ModelAdmin):
    list_display = ("created_at", "motif", "nom", "email", "reference_convention", "organisme")
    list_filter = ("motif",)
    list_select_related = ("organisme",)
    search_fields = ("nom", "email", "reference_convention")
    fields = ("created_at", "organisme", "motif", "nom", "email", "reference_convention", "message")
    readonly_fields = fields
