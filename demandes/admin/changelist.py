"""The agents de caisse's list of their organisme's demandes and its read-only detail page.

The partner's data are never editable here: the change page only displays them, with the
timeline and the attachments; processing is in processing.py, the indicators in indicators.py.
"""

import html

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from audit.services import Action, ObjectType, record_access
from core.admin_history import HistoryAdminMixin
from organismes.scoping import OrganismeScopedAdminMixin, of_own_organisme

from ..catalogue import URGENCES
from ..models import DelaiCibleOffre, Demande, Evenement, PieceJointe, mark_read
from .choices import structure_choices
from .indicators import IndicatorsAdminMixin
from .preferences import NotificationPreferencesAdminMixin
from .processing import ProcessingAdminMixin
from .queue import (
    AttenteFilter,
    AttributionFilter,
    BulkActionsAdminMixin,
    NonLusFilter,
    OuverteFilter,
    QueueFilter,
)
from .rows import DemandeChangeList


def piece_links(pieces) -> str:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("demandes:piece", args=[piece.pk]), piece.nom) for piece in pieces),
    )


def cut(text: str, *, title: str = "") -> str:
    """A cell of the work queue on one line: cut with an ellipsis, whole in its title."""
    return format_html('<span class="cell-cut" title="{}">{}</span>', title or text, text)


# --- Timeline and attachments, read-only ----------------------------------------------------


class ReadOnlyInline(admin.TabularInline):
    """Part of the demande: visible to whoever may view the demande, never edited here."""

    extra = 0
    can_delete = False
    template = "admin/edit_inline/readonly_table.html"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("demandes.view_demande")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EvenementInline(ReadOnlyInline):
    model = Evenement
    fields = ("at", "kind", "statut", "attribue_a", "message", "qui", "documents", "lecture")
    readonly_fields = fields
    verbose_name_plural = _lazy("échanges et chronologie")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("auteur", "attribue_a", "demande__structure", "demande__organisme")
            .prefetch_related("pieces")
        )

    @admin.display(description=_lazy("par"))
    def qui(self, evenement: Evenement) -> str:
        auteur = evenement.auteur.get_full_name() if evenement.auteur else _("compte supprimé")
        demande = evenement.demande
        side = demande.organisme.nom if evenement.de_l_organisme else demande.structure.nom
        return f"{auteur} ({side})"

    @admin.display(description=_lazy("lecture"))
    def lecture(self, evenement: Evenement) -> str:
        """Whether the other side has read a message: the partner's by the fund, and back."""
        if evenement.is_system:
            return ""
        attendue = _("réponse attendue") + " — " if evenement.reponse_attendue else ""
        if evenement.lu_le is None:
            return attendue + _("Non lu")
        return attendue + _("Lu le %(date)s") % {
            "date": date_format(timezone.localtime(evenement.lu_le), "j F Y H:i")
        }

    @admin.display(description=_lazy("pièces jointes"))
    def documents(self, evenement: Evenement) -> str:
        return piece_links(evenement.pieces.all())


class AnonymisedEvenementInline(EvenementInline):
    """The timeline of an anonymised demande: its steps and dates, no message, no file."""

    fields = ("at", "kind", "statut", "attribue_a", "qui")
    readonly_fields = fields


class PieceJointeInline(ReadOnlyInline):
    model = PieceJointe
    fields = ("fichier_link", "sens", "type_mime", "poids", "created_at")
    readonly_fields = fields

    @admin.display(description=_lazy("fichier"))
    def fichier_link(self, piece: PieceJointe) -> str:
        return piece_links([piece])

    @admin.display(description=_lazy("taille"))
    def poids(self, piece: PieceJointe) -> str:
        return filesizeformat(piece.taille)


# --- The demandes ---------------------------------------------------------------------------


class StructureFilter(QueueFilter):
    """The structures the agent works with: those with a convention with their organisme.

    Django's RelatedOnlyFieldListFilter would ask for the DISTINCT structures of all the
    organisme's demandes, a scan of tens of thousands of rows at every display of the list; the
    conventions give the same structures (a demande is made under a convention) from a few
    hundred rows, plus those that have not sent anything yet.

    An organisme works with hundreds of structures: they are a drop-down list with its button
    (a GET form keeping the list's other filters, the search and the order), not a column of
    links, which nobody could scan and which cost 2.5 ms a page to render, a query string and a
    template loop per structure (issue 20, item 3). The options are written here at once.
    """

    title = _lazy("structure")
    parameter_name = "structure"
    template = "admin/demandes/demande/structure_filter.html"

    def lookups(self, request, model_admin):
        return structure_choices(request.user)  # structures_in_scope, by hand-written SQL

    @staticmethod
    def restrict(request, queryset, value):
        if value and value.isascii() and value.isdigit():
            return queryset.filter(structure_id=int(value))
        return queryset

    def choices(self, changelist):
        value = self.value() or ""
        options = [f'<option value="">{html.escape(_("Toutes"))}</option>']
        options.extend(
            f'<option value="{pk}"{" selected" if str(pk) == value else ""}>'
            f"{html.escape(nom)}</option>"
            for pk, nom in self.lookup_choices
        )
        kept = [
            (name, each)
            for name, values in changelist.filter_params.items()
            if name not in (self.parameter_name, PAGE_VAR, ERROR_FLAG)
            for each in values
        ]
        yield {
            "selected": bool(value),
            "options": mark_safe("".join(options)),  # noqa: S308 (each name escaped above)
            "kept": kept,
            "name": self.parameter_name,
        }


class OverdueFilter(QueueFilter):
    """Open demandes past their organisme's target delay (issue 18, item 6), in SQL."""

    title = _lazy("délai")
    parameter_name = "en_retard"

    def lookups(self, request, model_admin):
        return (("oui", _lazy("en retard")), ("non", _lazy("dans les délais")))

    @staticmethod
    def restrict(request, queryset, value):
        if value == "oui":
            return queryset.en_retard()
        if value == "non":
            return queryset.open().exclude(pk__in=Demande.objects.en_retard().values("pk"))
        return queryset


@admin.register(Demande)
class DemandeAdmin(
    OrganismeScopedAdminMixin,
    BulkActionsAdminMixin,
    ProcessingAdminMixin,
    IndicatorsAdminMixin,
    NotificationPreferencesAdminMixin,
    admin.ModelAdmin,
):
    change_form_template = "admin/demandes/demande/change_form.html"
    change_list_template = "admin/demandes/demande/change_list.html"
    # At 1280 px, one line per demande (static/css/admin-queue.css): short cells, the long
    # texts (the urgency's category, the offer's motif) in the cell's title and on the page.
    list_display = (
        "reference",
        "urgence",
        "offre_display",
        "structure_display",
        "assure",
        "envoyee_le",
        "age",
        "statut_display",
        "attribution",
        "non_lus",
    )
    # The organisme gives the target delays of the age column: a join, not a query per row.
    list_select_related = ("offre", "structure", "organisme", "assigned_to")
    list_filter = (
        AttributionFilter,
        "statut",
        "offre",
        "urgent",
        StructureFilter,
        OverdueFilter,
        OuverteFilter,
        AttenteFilter,
        NonLusFilter,
    )
    search_fields = ("reference", "nom", "prenom", "structure__nom")
    search_help_text = _lazy("Référence, nom ou prénom de l'assuré, nom de la structure.")
    # A COUNT(*) of the whole table at every page is what makes big admin lists slow.
    show_full_result_count = False
    # An agent's work queue, urgent first then oldest: 50 rows are a screenful and half the
    # rendering of Django's default 100 (the admin renders each cell in Python).
    list_per_page = 50
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    ("statut", "attribution"),
                    ("offre", "motif_display"),
                    ("structure", "convention"),
                    "auteur_display",
                    ("created_at", "closed_at"),
                )
            },
        ),
        (
            _lazy("Assuré"),
            {"fields": ("civilite", ("nom", "prenom"), "date_naissance", "departement")},
        ),
        (
            _lazy("Demande"),
            {"fields": ("commentaire", "consentement", ("urgent", "categorie_urgence"))},
        ),
        (_lazy("Réponse de l'organisme"), {"fields": ("reponse",)}),
    )
    readonly_fields = (
        "reference",
        "statut",
        "attribution",
        "offre",
        "motif_display",
        "structure",
        "convention",
        "auteur_display",
        "created_at",
        "closed_at",
        "civilite",
        "nom",
        "prenom",
        "date_naissance",
        "departement",
        "commentaire",
        "consentement",
        "urgent",
        "categorie_urgence",
        "reponse",
    )
    inlines = (EvenementInline, PieceJointeInline)
    # An anonymised demande (SPEC §10): what stays, and the date its person and texts went.
    anonymised_fieldsets = (
        fieldsets[0],
        (_lazy("Assuré"), {"fields": ("anonymisation", "departement")}),
        (_lazy("Demande"), {"fields": ("consentement", ("urgent", "categorie_urgence"))}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.is_anonymisee:
            return self.anonymised_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "anonymisation")

    def get_inlines(self, request, obj):
        if obj is not None and obj.is_anonymisee:
            return (AnonymisedEvenementInline,)
        return self.inlines

    def scope(self, request, queryset):
        return of_own_organisme(request.user, queryset)

    # The list's annotations (the unread messages, the offers' own delays) resolve their
    # subqueries when they are added, 0.6 ms a page: they are added once, here, and each request
    # scopes a copy, as Django's generic views do with their `queryset` (a queryset is never
    # changed in place). In the order of the list, which ChangeList applies anyway.
    annotated = Demande.objects.for_agent_list().with_unread_for_the_fund().with_offer_delays()

    def get_queryset(self, request):
        # OrganismeScopedAdminMixin.get_queryset's scope, on the annotated demandes.
        return self.scope(request, self.annotated.all())

    def get_changelist(self, request, **kwargs):
        return DemandeChangeList

    def changelist_view(self, request, extra_context=None):
        # Not Django's « Sélectionnez l'objet demande à changer »: the agent's work queue. The
        # side menu is not rendered: this page gives its width to the list (admin-queue.css hid
        # it), and building it cost every page the permissions of every model.
        context = {"title": _("Demandes à traiter"), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The page shows the insured person: an agent's or a superuser's view of it is a row of
        # the access log (the list, which shows names too, is not: it would cost a write per
        # page of the work queue, and SPEC §10 audits the demande's page).
        if obj is not None:
            record_access(
                request,
                Action.VIEW_DEMANDE,
                object_type=ObjectType.DEMANDE,
                object_id=obj.pk,
                reference=obj.reference,
            )
            if request.method == "GET" and request.user.is_staff:
                mark_read(obj, by_organisme=True)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_ordering(self, request):
        # The changelist orders by this, not by the queryset: the same order as for_agent_list().
        return Demande.objects.for_agent_list().query.order_by

    # The partner's data are read-only: the change page only displays them. Processing is a
    # right of its own ("demandes.change_demande", ProcessingAdminMixin.can_process), used by
    # the processing views.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- Columns and fields -----------------------------------------------------------------

    @admin.display(description=_lazy("urgence"), ordering="urgent")
    def urgence(self, demande: Demande) -> str:
        if not demande.urgent:
            return ""
        categorie = dict(URGENCES).get(demande.categorie_urgence, demande.categorie_urgence)
        # The short badge, the category for sighted and screen-reader users alike.
        return format_html(
            '<span class="badge-urgent" title="{}">{}<span class="visually-hidden"> : {}</span>'
            "</span>",
            categorie,
            _("Urgent"),
            categorie,
        )

    @admin.display(description=_lazy("âge"), ordering="created_at")
    def age(self, demande: Demande) -> str:
        """Working days since sent, and the badge of an open demande past its target delay."""
        days = _("%(days)s j") % {"days": demande.age_jours_ouvres()}
        if not demande.is_en_retard():
            return days
        return format_html('{} <span class="badge badge-retard">{}</span>', days, _("en retard"))

    @admin.display(description=_lazy("offre"), ordering="offre")
    def offre_display(self, demande: Demande) -> str:
        return cut(str(demande.offre), title=f"{demande.offre} — {demande.motif_label}")

    @admin.display(description=_lazy("structure"), ordering="structure__nom")
    def structure_display(self, demande: Demande) -> str:
        return cut(demande.structure.nom)

    @admin.display(description=_lazy("envoyée le"), ordering="created_at")
    def envoyee_le(self, demande: Demande) -> str:
        at = timezone.localtime(demande.created_at)
        return format_html(
            '<time datetime="{}" title="{}">{}</time>',
            at.isoformat(),
            date_format(at, "DATETIME_FORMAT"),
            date_format(at, "SHORT_DATE_FORMAT"),
        )

    @admin.display(description=_lazy("statut"), ordering="statut")
    def statut_display(self, demande: Demande) -> str:
        return cut(demande.get_statut_display())

    @admin.display(description=_lazy("messages"), ordering="-non_lus")
    def non_lus(self, demande: Demande) -> str:
        """The partner's messages no one at the fund has read yet (SPEC §10): a badge."""
        count = getattr(demande, "non_lus", 0)
        if not count:
            return ""
        label = ngettext("%(count)d non lu", "%(count)d non lus", count) % {"count": count}
        return format_html('<span class="badge badge-non-lu">{}</span>', label)

    @admin.display(description=_lazy("attribuée à"), ordering="assigned_to__nom_usuel")
    def attribution(self, demande: Demande) -> str:
        if demande.assigned_to is None:
            return _("non attribuée")
        return cut(demande.assigned_to.get_full_name())

    @admin.display(description=_lazy("motif"))
    def motif_display(self, demande: Demande) -> str:
        return demande.motif_label

    @admin.display(description=_lazy("assuré"), ordering="nom")
    def assure(self, demande: Demande) -> str:
        if demande.is_anonymisee:
            return cut(self.anonymisation(demande))
        return cut(f"{demande.nom} {demande.prenom}")

    @admin.display(description=_lazy("identité"))
    def anonymisation(self, demande: Demande) -> str:
        if not demande.is_anonymisee:
            return ""
        return _("Données anonymisées le %(date)s") % {
            "date": date_format(timezone.localtime(demande.anonymisee_le), "j F Y")
        }

    @admin.display(description=_lazy("auteur"))
    def auteur_display(self, demande: Demande) -> str:
        return demande.auteur.get_full_name() if demande.auteur else _("compte supprimé")

    # --- The admin's own pages: the indicators and the processing steps -------------------

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path(
                "indicateurs/",
                wrap(self.indicateurs_view),
                name="demandes_demande_indicateurs",
            ),
            path(
                "notifications/",
                wrap(self.notifications_view),
                name="demandes_demande_notifications",
            ),
            path(
                "<int:object_id>/prendre-en-charge/",
                wrap(self.prendre_en_charge_view),
                name="demandes_demande_prendre_en_charge",
            ),
            path(
                "<int:object_id>/attribuer/",
                wrap(self.attribuer_view),
                name="demandes_demande_attribuer",
            ),
            path(
                "<int:object_id>/complement/",
                wrap(self.complement_view),
                name="demandes_demande_complement",
            ),
            path(
                "<int:object_id>/cloturer/",
                wrap(self.cloturer_view),
                name="demandes_demande_cloturer",
            ),
            path(
                "<int:object_id>/message/",
                wrap(self.message_view),
                name="demandes_demande_message",
            ),
            path(
                "<int:object_id>/note/",
                wrap(self.note_view),
                name="demandes_demande_note",
            ),
            path(
                "<int:object_id>/documents/",
                wrap(self.documents_view),
                name="demandes_demande_documents",
            ),
            *super().get_urls(),
        ]


@admin.register(DelaiCibleOffre)
class DelaiCibleOffreAdmin(HistoryAdminMixin, admin.ModelAdmin):
    """An organisme's own target delays for an offer (SPEC §10), set by the national
    administrators beside the organisme's general ones (its page)."""

    list_display = ("organisme", "offre", "delai_urgent_jours", "delai_jours")
    list_filter = ("organisme",)
    list_select_related = ("organisme", "offre")
