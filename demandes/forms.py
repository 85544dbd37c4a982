"""What a partner types: a demande (one form per offer), the answer to a complement, and the
filters of the history. Every free-text field goes through the NIR guard (SPEC §5)."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import Civilite
from conventions.models import Offre
from core.formfields import ModelChoiceField
from core.nir import validate_no_nir
from core.validators import LimitsSaidNotCutMixin, TextLineFormField

from . import catalogue
from .attachments import AttachmentsField
from .history import Criteria
from .models import COMMENT_MAX_LENGTH, Demande, Statut, validate_date_naissance
from .services import CONSENTEMENT_REQUIS, open_duplicates, validate_demande

# The fields of Demande a form fills; the view hands them to services.create_demande.
DEMANDE_FIELDS = (
    "civilite",
    "nom",
    "prenom",
    "date_naissance",
    "departement",
    "motif",
    "commentaire",
    "consentement",
    "urgent",
    "categorie_urgence",
)


def _blank(label) -> list[tuple[str, str]]:
    return [("", label)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        # The browser's date picker sends and shows ISO dates; typed French dates are accepted too.
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DemandeForm(LimitsSaidNotCutMixin, forms.Form):
    required_css_class = "required"

    civilite = forms.ChoiceField(
        label=_("Civilité"),
        choices=_blank(_("Sélectionner la civilité")) + list(Civilite.choices),
    )
    nom = TextLineFormField(label=_("Nom"), max_length=60, validators=[validate_no_nir])
    prenom = TextLineFormField(label=_("Prénom"), max_length=40, validators=[validate_no_nir])
    date_naissance = forms.DateField(
        label=_("Date de naissance"),
        help_text=_("Au format jj/mm/aaaa."),
        widget=DateInput(attrs={"min": "1900-01-01"}),
        validators=[validate_date_naissance],
    )
    departement = forms.ChoiceField(
        label=_("Département de résidence"),
        choices=_blank(_("Sélectionner le département")) + list(catalogue.DEPARTEMENT_CHOICES),
    )
    motif = forms.ChoiceField(label=_("Motif de la demande"))
    commentaire = forms.CharField(
        label=_("Commentaire"),
        help_text=_("%(max)s caractères au plus.") % {"max": COMMENT_MAX_LENGTH},
        max_length=COMMENT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        validators=[validate_no_nir],
    )
    consentement = forms.BooleanField(
        label=_(
            "L'assuré(e) a donné son accord pour que je transmette cette demande et les "
            "informations qui le (la) concernent à son organisme d'assurance maladie."
        ),
        error_messages={"required": CONSENTEMENT_REQUIS},
    )
    urgent = forms.BooleanField(
        label=_("Situation urgente ou bloquée"),
        required=False,
        help_text=_("Cochez seulement si la situation entre dans l'une des catégories ci-dessous."),
    )
    categorie_urgence = forms.ChoiceField(
        label=_("Catégorie d'urgence"),
        choices=_blank(_("Sélectionner une catégorie")) + list(catalogue.URGENCES),
        required=False,
    )
    pieces = AttachmentsField()
    confirmer = forms.BooleanField(
        label=_("J'envoie quand même cette nouvelle demande."),
        required=False,
    )

    def __init__(self, *args, offre: Offre, structure, organisme, **kwargs):
        super().__init__(*args, **kwargs)
        self.offre = offre
        self.structure = structure
        self.organisme = organisme
        self.duplicates: list[Demande] = []
        motifs = catalogue.MOTIFS[offre.code]
        if len(motifs) == 1:
            # "Contacter votre organisme" has a single motif: nothing to choose.
            self.single_motif = motifs[0][0]
            del self.fields["motif"]
        else:
            self.single_motif = None
            self.fields["motif"].choices = _blank(_("Sélectionner le motif")) + list(motifs)
        if offre.code == catalogue.CONTACTER:
            self.fields["commentaire"].required = True
            self.fields["commentaire"].label = _("Votre question")
        to_specify = [
            label for code, label in motifs if (offre.code, code) in catalogue.MOTIFS_TO_SPECIFY
        ]
        if to_specify:
            self.fields["commentaire"].help_text = _(
                "%(max)s caractères au plus ; obligatoire pour le motif « %(motifs)s »."
            ) % {"max": COMMENT_MAX_LENGTH, "motifs": " », « ".join(str(m) for m in to_specify)}
        today = timezone.localdate()
        self.fields["date_naissance"].widget.attrs["max"] = today.isoformat()

    def clean(self):
        cleaned = super().clean()
        cleaned["motif"] = self.single_motif or cleaned.get("motif")
        # The rules of the content are the service's (create_demande checks them again); the
        # form shows them all at once, with the errors of its own fields.
        try:
            validate_demande(
                self.offre, {field: cleaned[field] for field in DEMANDE_FIELDS if field in cleaned}
            )
        except ValidationError as error:
            self.add_rule_errors(error)

        person = ("nom", "prenom", "date_naissance")
        if all(cleaned.get(field) for field in person):
            self.duplicates = list(
                open_duplicates(
                    self.structure,
                    self.organisme,
                    nom=cleaned["nom"],
                    prenom=cleaned["prenom"],
                    date_naissance=cleaned["date_naissance"],
                ).order_by("created_at", "pk")
            )
            if self.duplicates and not cleaned.get("confirmer"):
                # The warning above the box says why; the error only says what to do.
                self.add_error(
                    "confirmer", _("Cochez cette case pour envoyer quand même la nouvelle demande.")
                )
        return cleaned

    def add_rule_errors(self, error: ValidationError) -> None:
        """The service's refusals next to their fields, except where the field's own check has
        already said what is wrong; a refusal about a field the form does not show goes on top."""
        for field, errors in error.error_dict.items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, errors)

    def demande_data(self) -> dict:
        """The cleaned values that make the Demande (names stripped, as typed otherwise)."""
        return {field: self.cleaned_data[field] for field in DEMANDE_FIELDS}


def _text_field(label) -> forms.CharField:
    """A partner's text to the organisme: a complement or a message of the thread."""
    return forms.CharField(
        label=label,
        help_text=_("%(max)s caractères au plus.") % {"max": COMMENT_MAX_LENGTH},
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        validators=[validate_no_nir],
    )


class ComplementForm(LimitsSaidNotCutMixin, forms.Form):
    required_css_class = "required"

    message = _text_field(_("Votre réponse"))
    pieces = AttachmentsField()


class MessageForm(LimitsSaidNotCutMixin, forms.Form):
    """A partner's message in the demande's thread (SPEC §10)."""

    required_css_class = "required"

    texte = _text_field(_("Votre message"))
    pieces = AttachmentsField()


class DemandeFilterForm(LimitsSaidNotCutMixin, forms.Form):
    """The history's filters, in the query string (GET): a wrong value is shown and ignored."""

    q = forms.CharField(
        label=_("Rechercher"),
        help_text=_("Nom ou prénom de l'assuré(e), ou référence de la demande."),
        max_length=100,
        required=False,
        validators=[validate_no_nir],
    )
    offre = ModelChoiceField(
        label=_("Offre"),
        queryset=Offre.objects.filter(code__in=catalogue.MOTIFS).order_by("ordre"),
        to_field_name="code",
        empty_label=_("Toutes"),
        required=False,
    )
    statut = forms.ChoiceField(
        label=_("Statut"),
        # Written as the list writes them ("Envoyée"), capital first.
        choices=_blank(_("Tous")) + [(value, capfirst(label)) for value, label in Statut.choices],
        required=False,
    )
    urgent = forms.ChoiceField(
        label=_("Urgence"),
        choices=(("", _("Toutes")), ("oui", _("Urgentes")), ("non", _("Non urgentes"))),
        required=False,
    )
    du = forms.DateField(label=_("Envoyées du"), required=False, widget=DateInput())
    au = forms.DateField(label=_("au"), required=False, widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        du, au = cleaned.get("du"), cleaned.get("au")
        if du and au and du > au:
            self.add_error("au", _("La date de fin doit suivre la date de début."))
        return cleaned

    def criteria(self) -> Criteria:
        """The valid filters, for the history (demandes/history.py); a wrong one is ignored."""
        if not self.is_bound:
            return Criteria()
        self.is_valid()
        values = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        urgent, du, au = values.get("urgent"), values.get("du"), values.get("au")
        return Criteria(
            offre_id=values["offre"].pk if values.get("offre") else None,
            statut=values.get("statut", ""),
            urgent=None if not urgent else urgent == "oui",
            after=_start_of(du) if du else None,
            before=_start_of(au + datetime.timedelta(days=1)) if au else None,
            terms=tuple(values.get("q", "").split()),
        )


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight of that day in Paris: the dates a partner picks are local dates."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
