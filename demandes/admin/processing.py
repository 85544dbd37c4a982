"""The fund's processing of a demande (SPEC §5, §10): prendre en charge, attribuer, demander un
complément, clôturer, joindre des documents; write in the demande's thread; write a private note.

The change page offers the steps the status allows; each step is a small POST view (registered
in DemandeAdmin.get_urls) that looks the demande up through the same scoped queryset, so that
another organisme's demande is a 404, and calls the service: a refused rule shows its message.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import User
from core.formfields import ModelChoiceField
from core.nir import validate_no_nir

from .. import services
from ..attachments import AttachmentsField
from ..models import COMMENT_MAX_LENGTH, Demande, NoteInterne, Statut

NOT_HABILITEE = _lazy("La convention n'est pas habilitée à recevoir des documents.")


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


class AgentChoiceField(ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name()


class AttributionForm(forms.Form):
    """One demande (`agents`: its organisme's) or a selection (the agent's organisme's)."""

    def __init__(self, *args, agents, required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"] = AgentChoiceField(
            label=_("Attribuer à"),
            queryset=agents,
            required=required,
            empty_label=None if required else _("Personne : remettre la demande en attente"),
        )


class DocumentsForm(forms.Form):
    pieces = AttachmentsField(label=_lazy("Documents"), required=True)
    message = message_field(_lazy("Message (facultatif)"), required=False)


class MessageForm(forms.Form):
    """An agent's message in the thread; documents only to a convention habilitée (SPEC §5)."""

    texte = message_field(_lazy("Message au partenaire"))
    reponse_attendue = forms.BooleanField(
        label=_lazy("Réponse attendue"),
        help_text=_lazy("Le partenaire voit « en attente de votre réponse » jusqu'à sa réponse."),
        required=False,
    )
    pieces = AttachmentsField(label=_lazy("Documents (facultatif)"))

    def __init__(self, *args, habilitee: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not habilitee:
            del self.fields["pieces"]


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_lazy("Note interne"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=COMMENT_MAX_LENGTH,
        validators=[validate_no_nir],
        help_text=_lazy("Jamais montrée au partenaire. Ni numéro de sécurité sociale."),
    )


# --- The steps, offered on the change page and run by their views ---------------------------


class ProcessingAdminMixin:
    """DemandeAdmin's processing: the steps on the change page, and the views that run them."""

    def can_process(self, request) -> bool:
        return request.user.has_perm("demandes.change_demande")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["traitement"] = self.traitement(request, obj) if obj is not None else []
        if obj is not None and not obj.is_anonymisee:
            context["notes"] = (
                NoteInterne.objects.visible_to(request.user)
                .filter(demande=obj)
                .select_related("auteur")
            )
            if self.can_process(request):
                context["note_form"] = NoteForm()
                if obj.is_open:
                    context["message_form"] = MessageForm(habilitee=obj.convention.habilitee)
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
        if demande.is_open:
            offer("attribuer", _("Attribuer…"))
        if demande.can_become(Statut.COMPLEMENT_DEMANDE):
            offer("complement", _("Demander un complément"))
        if demande.can_become(Statut.CLOTUREE):
            offer("cloturer", _("Clôturer"))
        if demande.convention.habilitee:
            offer("documents", _("Joindre des documents"))
        return steps

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

    def form_step(
        self, request, demande: Demande, form, operation, done: str, *, arguments, **page
    ) -> HttpResponse:
        """A step with a form: run when the form is valid (with the service's `arguments` from
        its cleaned data), else its page, with the errors next to the fields."""
        if form.is_valid():
            return self.run(request, demande, operation, done, **arguments(form.cleaned_data))
        return self.step_page(request, demande, form, **page)

    def attribuer_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """To an active agent of the demande's organisme, or to nobody (released)."""
        demande = self.demande_to_process(request, object_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        form = AttributionForm(
            **self.bound(request),
            agents=services.agents_of(demande.organisme_id).in_list_order(),
            required=False,
            initial={"agent": demande.assigned_to_id},
        )
        if form.is_valid():
            return self.run(
                request,
                demande,
                services.attribuer,
                _("L'attribution de la demande %(reference)s est enregistrée."),
                agent=form.cleaned_data["agent"],
            )
        return self.step_page(
            request,
            demande,
            form,
            title=_("Attribuer la demande"),
            submit_label=_("Enregistrer l'attribution"),
        )

    def complement_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        return self.form_step(
            request,
            demande,
            ComplementForm(**self.bound(request)),
            services.demander_complement,
            _("Un complément est demandé pour %(reference)s ; l'auteur en est averti."),
            arguments=lambda data: {"message": data["message"]},
            title=_("Demander un complément"),
            submit_label=_("Demander le complément"),
        )

    def message_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """A message in the thread (SPEC §10), from the change page's form."""
        demande = self.demande_to_process(request, object_id)
        return self.form_step(
            request,
            demande,
            MessageForm(habilitee=demande.convention.habilitee, **self.bound(request)),
            services.ecrire_message,
            _("Votre message sur %(reference)s est envoyé ; l'auteur en est averti."),
            arguments=lambda data: {
                "texte": data["texte"],
                "reponse_attendue": data["reponse_attendue"],
                "uploads": data.get("pieces", []),
            },
            title=_("Écrire au partenaire"),
            submit_label=_("Envoyer le message"),
        )

    def note_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """A private note, from the change page's form: bound at once (it has no page before)."""
        demande = self.demande_to_process(request, object_id)
        return self.form_step(
            request,
            demande,
            NoteForm(request.POST if request.method == "POST" else None),
            services.ecrire_note,
            _("La note interne est ajoutée à %(reference)s."),
            arguments=lambda data: {"texte": data["note"]},
            title=_("Note interne"),
            submit_label=_("Ajouter la note"),
        )

    def cloturer_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        form = ClotureForm(habilitee=demande.convention.habilitee, **self.bound(request))
        return self.form_step(
            request,
            demande,
            form,
            services.cloturer,
            _("La demande %(reference)s est clôturée ; l'auteur en est averti."),
            arguments=lambda data: {"reponse": data["reponse"], "uploads": form.uploads},
            title=_("Clôturer"),
            submit_label=_("Clôturer la demande"),
        )

    def documents_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        demande = self.demande_to_process(request, object_id)
        return self.form_step(
            request,
            demande,
            DocumentsForm(**self.bound(request)),
            services.joindre_documents,
            _("Les documents sont joints à la demande %(reference)s."),
            arguments=lambda data: {"uploads": data["pieces"], "message": data["message"]},
            title=_("Joindre des documents"),
            submit_label=_("Joindre les documents"),
        )
