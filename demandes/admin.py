"""The fund's side of the demandes (SPEC §5, §7): agents de caisse read their organisme's
demandes, process them through the services, and read the indicators of a convention.

The partner's data are never editable here: the change page is read-only, and each processing
step is a small POST view (registered in get_urls) that looks the demande up through the same
scoped queryset, so that another organisme's demande is a 404.
"""

import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from conventions.models import Convention
from organismes.scoping import (
    OrganismeScopedAdminMixin,
    conventions_in_scope,
    of_own_organisme,
    structures_in_scope,
)

from . import indicators, services
from .attachments import AttachmentsField
from .catalogue import URGENCES
from .models import COMMENT_MAX_LENGTH, Demande, Evenement, PieceJointe, Statut
from .validators import validate_no_nir

NOT_HABILITEE = _lazy("La convention n'est pas habilitée à recevoir des documents.")
# The longest period of the indicators: a yearly review, or a whole convention of a few years.
INDICATEURS_MAX_MONTHS = 36


def piece_links(pieces) -> str:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("demandes:piece", args=[piece.pk]), piece.nom) for piece in pieces),
    )


# --- Forms of the processing steps ----------------------------------------------------------


def message_field(label: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=COMMENT_MAX_LENGTH,
        validators=[validate_no_nir],
        help_text=_lazy("Lu par le partenaire. Ni numéro de sécurité sociale, ni donnée de santé."),
        **kwargs,
    )


class ComplementForm(forms.Form):
    message = message_field(_lazy("Complément demandé au partenaire"))


class ClotureForm(forms.Form):
    reponse = message_field(_lazy("Réponse"))
    pieces = AttachmentsField(label=_lazy("Documents joints à la réponse (facultatif)"))

    def __init__(self, *args, habilitee: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.habilitee = habilitee
        if not habilitee:
            # Documents go only to a partner habilité to receive them (SPEC §5).
            del self.fields["pieces"]

    def clean(self):
        cleaned_data = super().clean()
        if not self.habilitee and self.files.getlist("pieces"):
            raise forms.ValidationError(NOT_HABILITEE, code="not_habilitee")
        return cleaned_data

    @property
    def uploads(self) -> list:
        return self.cleaned_data.get("pieces", [])


class DocumentsForm(forms.Form):
    pieces = AttachmentsField(label=_lazy("Documents"), required=True)
    message = message_field(_lazy("Message (facultatif)"), required=False)


class IndicateursForm(forms.Form):
    convention = forms.ModelChoiceField(
        queryset=Convention.objects.none(), label=_lazy("Convention")
    )
    du = forms.DateField(
        label=_lazy("Du"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    au = forms.DateField(
        label=_lazy("Au"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, conventions: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["convention"]
        field.queryset = conventions.select_related("structure").order_by(
            "structure__nom", "-date_debut", "pk"
        )
        field.label_from_instance = lambda c: f"{c.reference} — {c.structure.nom}"

    def clean(self):
        cleaned_data = super().clean()
        du, au = cleaned_data.get("du"), cleaned_data.get("au")
        if du and au:
            if du > au:
                raise forms.ValidationError(_("La date de début doit précéder la date de fin."))
            if indicators.month_count(du, au) > INDICATEURS_MAX_MONTHS:
                raise forms.ValidationError(
                    _("La période ne peut pas dépasser %(count)d mois.")
                    % {"count": INDICATEURS_MAX_MONTHS}
                )
        return cleaned_data


def default_period(convention: Convention) -> tuple[datetime.date, datetime.date]:
    """The last year of the convention, up to today: what a yearly review looks at."""
    today = timezone.localdate()
    au = min(convention.date_fin or today, today)
    try:
        year_before = au.replace(year=au.year - 1)
    except ValueError:  # 29 February
        year_before = au.replace(year=au.year - 1, day=28)
    du = max(convention.date_debut, year_before + datetime.timedelta(days=1))
    return min(du, au), au


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
    fields = ("at", "kind", "statut", "message", "qui", "documents")
    readonly_fields = fields
    verbose_name_plural = _lazy("chronologie")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("auteur").prefetch_related("pieces")

    @admin.display(description=_lazy("par"))
    def qui(self, evenement: Evenement) -> str:
        auteur = evenement.auteur.get_full_name() if evenement.auteur else _("compte supprimé")
        side = _("organisme") if evenement.de_l_organisme else _("partenaire")
        return f"{auteur} ({side})"

    @admin.display(description=_lazy("pièces jointes"))
    def documents(self, evenement: Evenement) -> str:
        return piece_links(evenement.pieces.all())


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


class StructureFilter(admin.RelatedFieldListFilter):
    """The structures the agent works with: those with a convention with their organisme.

    Django's RelatedOnlyFieldListFilter would ask for the DISTINCT structures of all the
    organisme's demandes, a scan of tens of thousands of rows at every display of the list; the
    conventions give the same structures (a demande is made under a convention) from a few
    hundred rows, plus those that have not sent anything yet.
    """

    def field_choices(self, field, request, model_admin):
        return list(
            structures_in_scope(request.user).order_by("nom", "pk").values_list("pk", "nom")
        )


@admin.register(Demande)
class DemandeAdmin(OrganismeScopedAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/demandes/demande/change_form.html"
    change_list_template = "admin/demandes/demande/change_list.html"
    list_display = (
        "reference",
        "urgence",
        "statut",
        "offre",
        "motif_display",
        "structure",
        "assure",
        "created_at",
    )
    list_select_related = ("offre", "structure")
    list_filter = (
        "statut",
        "offre",
        "urgent",
        ("structure", StructureFilter),
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
                    "statut",
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

    def scope(self, request, queryset):
        return of_own_organisme(request.user, queryset)

    def get_queryset(self, request):
        return super().get_queryset(request).for_agent_list()

    def get_ordering(self, request):
        # The changelist orders by this, not by the queryset: the same order as for_agent_list().
        return Demande.objects.for_agent_list().query.order_by

    # The partner's data are read-only: the change page only displays them. Processing is a
    # right of its own ("demandes.change_demande"), used by the views below.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_process(self, request) -> bool:
        return request.user.has_perm("demandes.change_demande")

    # --- Columns and fields -----------------------------------------------------------------

    @admin.display(description=_lazy("urgence"), ordering="urgent")
    def urgence(self, demande: Demande) -> str:
        if not demande.urgent:
            return ""
        return format_html(
            "<strong>{}</strong><br>{}",
            _("Urgent"),
            dict(URGENCES).get(demande.categorie_urgence, demande.categorie_urgence),
        )

    @admin.display(description=_lazy("motif"))
    def motif_display(self, demande: Demande) -> str:
        return demande.motif_label

    @admin.display(description=_lazy("assuré"), ordering="nom")
    def assure(self, demande: Demande) -> str:
        return f"{demande.nom} {demande.prenom}"

    @admin.display(description=_lazy("auteur"))
    def auteur_display(self, demande: Demande) -> str:
        return demande.auteur.get_full_name() if demande.auteur else _("compte supprimé")

    # --- Change page: the processing steps the status allows ------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["traitement"] = self.traitement(request, obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)

    def traitement(self, request, demande: Demande) -> list[dict]:
        if not self.can_process(request):
            return []
        steps = []

        def offer(name: str, label: str, *, direct: bool = False) -> None:
            url = reverse(f"admin:demandes_demande_{name}", args=[demande.pk])
            steps.append({"url": url, "label": label, "direct": direct})

        if demande.can_become(Statut.EN_COURS):
            offer("prendre_en_charge", _("Prendre en charge"), direct=True)
        if demande.can_become(Statut.COMPLEMENT_DEMANDE):
            offer("complement", _("Demander un complément"))
        if demande.can_become(Statut.CLOTUREE):
            offer("cloturer", _("Clôturer"))
        if demande.convention.habilitee:
            offer("documents", _("Joindre des documents"))
        return steps

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
                "<int:object_id>/prendre-en-charge/",
                wrap(self.prendre_en_charge_view),
                name="demandes_demande_prendre_en_charge",
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
                "<int:object_id>/documents/",
                wrap(self.documents_view),
                name="demandes_demande_documents",
            ),
            *super().get_urls(),
        ]

    def demande_to_process(self, request, object_id) -> Demande:
        """Through the scoped queryset: another organisme's demande is a 404."""
        if not self.can_process(request):
            raise PermissionDenied
        return self.get_object(request, object_id)

    def change_url(self, demande: Demande) -> str:
        return reverse("admin:demandes_demande_change", args=[demande.pk])

    def run(self, request, demande: Demande, operation, done: str, **kwargs) -> HttpResponse:
        """A service call; a refused rule shows its message, and nothing has changed."""
        try:
            operation(by=request.user, demande=demande, **kwargs)
        except services.DemandeRuleError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, done % {"reference": demande.reference}, messages.SUCCESS)
        return redirect(self.change_url(demande))

    def step_page(self, request, demande: Demande, form, *, title: str, submit_label: str):
        return TemplateResponse(
            request,
            "admin/demandes/demande/traitement.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{title} — {demande.reference}",
                "opts": self.opts,
                "demande": demande,
                "form": form,
                "submit_label": submit_label,
                "change_url": self.change_url(demande),
            },
        )

    def bound(self, request) -> dict:
        """The form is bound when its own page is submitted, not when the change page's button
        opens it (also a POST, for one way in: a POST with a CSRF token)."""
        if request.method == "POST" and "apply" in request.POST:
            return {"data": request.POST, "files": request.FILES}
        return {}

    def prendre_en_charge_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return self.run(
            request,
            demande,
            services.prendre_en_charge,
            _("La demande %(reference)s est prise en charge."),
        )

    def complement_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        form = ComplementForm(**self.bound(request))
        if form.is_valid():
            return self.run(
                request,
                demande,
                services.demander_complement,
                _("Un complément est demandé pour %(reference)s ; l'auteur en est averti."),
                message=form.cleaned_data["message"],
            )
        return self.step_page(
            request,
            demande,
            form,
            title=_("Demander un complément"),
            submit_label=_("Demander le complément"),
        )

    def cloturer_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        form = ClotureForm(habilitee=demande.convention.habilitee, **self.bound(request))
        if form.is_valid():
            return self.run(
                request,
                demande,
                services.cloturer,
                _("La demande %(reference)s est clôturée ; l'auteur en est averti."),
                reponse=form.cleaned_data["reponse"],
                uploads=form.uploads,
            )
        return self.step_page(
            request, demande, form, title=_("Clôturer"), submit_label=_("Clôturer la demande")
        )

    def documents_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        form = DocumentsForm(**self.bound(request))
        if form.is_valid():
            return self.run(
                request,
                demande,
                services.joindre_documents,
                _("Les documents sont joints à la demande %(reference)s."),
                uploads=form.cleaned_data["pieces"],
                message=form.cleaned_data["message"],
            )
        return self.step_page(
            request,
            demande,
            form,
            title=_("Joindre des documents"),
            submit_label=_("Joindre les documents"),
        )

    # --- Indicators (SPEC §7) ---------------------------------------------------------------

    def indicateurs_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        conventions = conventions_in_scope(request.user)
        form = IndicateursForm(conventions=conventions)
        resultats = None
        convention_id = request.GET.get("convention", "")
        if convention_id:
            # Another organisme's convention does not exist here: a 404, not a form error.
            if not convention_id.isdigit():
                raise Http404
            convention = get_object_or_404(
                conventions.select_related("structure", "organisme"), pk=convention_id
            )
            du, au = default_period(convention)
            data = {"convention": convention.pk, "du": du.isoformat(), "au": au.isoformat()}
            data.update((key, request.GET[key]) for key in ("du", "au") if request.GET.get(key))
            form = IndicateursForm(data, conventions=conventions)
            if form.is_valid():
                du, au = form.cleaned_data["du"], form.cleaned_data["au"]
                resultats = indicators.compute(convention, du, au)
                if request.GET.get("format") == "csv":
                    return self.indicateurs_csv(resultats)
        elif request.GET:
            form = IndicateursForm(request.GET, conventions=conventions)  # says what is missing
        csv_url = ""
        if resultats is not None:
            query = {
                "convention": resultats.convention.pk,
                "du": resultats.du.isoformat(),
                "au": resultats.au.isoformat(),
                "format": "csv",
            }
            csv_url = f"{request.path}?{urlencode(query)}"
        return TemplateResponse(
            request,
            "admin/demandes/demande/indicateurs.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Indicateurs d'une convention"),
                "opts": self.opts,
                "form": form,
                "resultats": resultats,
                "csv_url": csv_url,
            },
        )

    def indicateurs_csv(self, resultats: indicators.Indicateurs) -> HttpResponse:
        convention = resultats.convention
        filename = (
            f"indicateurs-{slugify(convention.reference)}-{resultats.du:%Y%m%d}-"
            f"{resultats.au:%Y%m%d}.csv"
        )
        response = HttpResponse(
            indicators.to_csv(resultats), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
