from altcha_django import AltchaField, AltchaMixin, ErrorCode
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import PERSON_FIELDS, AccountFormMixin
from core.formfields import ModelChoiceField
from core.nir import validate_no_nir
from core.validators import LimitsSaidNotCutMixin
from organismes.models import Organisme
from organismes.validators import normalize_siret, validate_siret

from . import services
from .models import MessageContact, PreInscription

# What browsers may fill in (WCAG 1.3.5), by field.
AUTOCOMPLETE = {
    "structure_nom": "organization",
    "adresse": "street-address",
    "code_postal": "postal-code",
    "ville": "address-level2",
    "nom_patronymique": "family-name",
    "nom_usuel": "family-name",
    "prenom": "given-name",
    "fonction": "organization-title",
    "email": "email",
    "nom": "name",
}

REFERENCE_INCONNUE = _(
    "Cette référence de convention n'est pas valide pour cet organisme, ou elle a déjà servi. "
    "Vérifiez-la auprès de votre organisme d'assurance maladie."
)


ANTI_ROBOT_FAILED = _(
    "La vérification anti-robot a échoué (ou a expiré) : cochez de nouveau la case « Je ne suis "
    "pas un robot », puis envoyez le formulaire."
)


def anti_robot_field() -> AltchaField:
    """ALTCHA's proof of work: the browser computes, the person only ticks a box."""
    # Expired, already used, forged…: the same advice for every failure.
    messages = {code.value: ANTI_ROBOT_FAILED for code in ErrorCode}
    messages[ErrorCode.REQUIRED.value] = _(
        "Cochez la case « Je ne suis pas un robot » et attendez la fin de la vérification "
        "avant d'envoyer le formulaire."
    )
    return AltchaField(label=_("Vérification anti-robot"), error_messages=messages)


def organisme_field() -> ModelChoiceField:
    return ModelChoiceField(
        label=_("Organisme d'assurance maladie"),
        queryset=Organisme.objects.order_by("nom"),
        empty_label=_("Sélectionner un organisme"),
    )


class PublicFormMixin(AltchaMixin):
    required_css_class = "required"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, value in AUTOCOMPLETE.items():
            if name in self.fields:
                self.fields[name].widget.attrs.setdefault("autocomplete", value)


class PreInscriptionForm(PublicFormMixin, AccountFormMixin, forms.ModelForm):
    organisme = organisme_field()
    siret = forms.CharField(
        label=_("SIRET"),
        help_text=_("Les 14 chiffres, espaces acceptés."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    cgu = forms.BooleanField(
        label=_(
            "J'ai lu les conditions générales d'utilisation et je les accepte au nom de la "
            "structure."
        ),
        error_messages={"required": _("Cochez la case pour accepter les conditions.")},
    )
    captcha = anti_robot_field()

    class Meta:
        model = PreInscription
        fields = (
            "organisme",
            "reference_convention",
            "structure_nom",
            "siret",
            "adresse",
            "code_postal",
            "ville",
            "structure_telephone",
            *PERSON_FIELDS,  # the first gestionnaire, as an account is typed
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.convention = None
        self.fields["code_postal"].widget.attrs["inputmode"] = "numeric"
        # The model's guard runs after clean(), whose look-up would first call a NIR an unknown
        # reference: the field checks it before.
        self.fields["reference_convention"].validators.append(validate_no_nir)

    def clean_siret(self) -> str:
        siret = normalize_siret(self.cleaned_data["siret"])
        validate_siret(siret)
        return siret

    def clean_email(self) -> str:
        # Not AccountFormMixin's check against existing accounts: on a public page it would tell
        # anyone whether an address has an account. The agent's validation checks it.
        return self.cleaned_data["email"]

    def clean(self):
        cleaned = super().clean()
        organisme, reference = cleaned.get("organisme"), cleaned.get("reference_convention")
        if organisme and reference:
            self.convention = services.claimable_convention(organisme, reference)
            if self.convention is None:
                self.add_error("reference_convention", REFERENCE_INCONNUE)
        return cleaned

    def preinscription_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ContactForm(LimitsSaidNotCutMixin, PublicFormMixin, forms.ModelForm):
    organisme = organisme_field()
    captcha = anti_robot_field()

    class Meta:
        model = MessageContact
        fields = ("organisme", "motif", "nom", "email", "reference_convention", "message")
        widgets = {"message": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "reference_convention": _("Facultatif : si votre structure a une convention."),
            "message": _(
                "4000 caractères maximum. N'écrivez ni numéro de sécurité sociale ni "
                "information médicale."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["motif"]
        field.choices = [("", _("Sélectionner l'objet")), *field.choices[1:]]

    def contact_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
