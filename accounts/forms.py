from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from core.nir import validate_no_nir
from core.validators import (
    FONCTION_RULE,
    NOM_RULE,
    PRENOM_RULE,
    TELEPHONE_RULE,
    LimitsSaidNotCutMixin,
    without_maxlength,
)

from .models import Role, User
from .services import (
    EDITABLE_FIELDS,
    AccountRuleError,
    check_quota,
    email_refusal,
    record_new_password,
)

PERSON_FIELDS = EDITABLE_FIELDS


class AccountFormMixin:
    """The rules that involve several fields or other accounts (SPEC §3), and each field's rule
    said before it is broken, in the words of manual 000 §IV-1 (issue 19, item 3)."""

    role: str
    required_css_class = "required"
    RULES = {
        "nom_patronymique": (_("Nom de naissance."), NOM_RULE),
        "nom_usuel": (_("Nom marital ou d'usage."), NOM_RULE),
        "prenom": (PRENOM_RULE,),
        "fonction": (FONCTION_RULE,),
        "telephone": (TELEPHONE_RULE,),
        "email": (_("Adresse e-mail professionnelle, par exemple prenom.nom@structure.fr."),),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, rule in self.RULES.items():
            if name in self.fields:
                self.fields[name].help_text = " ".join(str(part) for part in rule)
        if "civilite" in self.fields:
            field = self.fields["civilite"]
            field.choices = [("", _("Sélectionner la civilité")), *field.choices[1:]]
        without_maxlength(self.fields.values())

    def clean(self):
        cleaned = super().clean()
        if (
            {"nom_patronymique", "nom_usuel"} <= set(self.fields)
            and not cleaned.get("nom_patronymique")
            and not cleaned.get("nom_usuel")
            and "nom_patronymique" not in self.errors
            and "nom_usuel" not in self.errors
        ):
            self.add_error(
                "nom_patronymique",
                _("Renseignez au moins un des deux noms (patronymique ou usuel)."),
            )
        return cleaned

    def clean_email(self):
        email = self.cleaned_data["email"]
        instance = self.instance
        role = instance.role if instance.pk else self.role
        if instance.pk and not instance.is_active:
            return email  # checked again on reactivation
        refusal = email_refusal(
            role=role, email=email, structure_id=self.structure_id(), exclude_pk=instance.pk
        )
        if refusal:
            raise forms.ValidationError(refusal)
        return email

    def structure_id(self) -> int | None:
        """The structure the account is (or will be) in, for a precise refusal message."""
        if self.instance.structure_id:
            return self.instance.structure_id
        structure = self.cleaned_data.get("structure") or getattr(self, "structure", None)
        return structure.pk if structure else None


class GestionnaireCreationForm(AccountFormMixin, forms.ModelForm):
    """The fund's agent creates a gestionnaire of one of its structures."""

    role = Role.GESTIONNAIRE

    class Meta:
        model = User
        fields = ("structure", *PERSON_FIELDS)

    def __init__(self, *args, organisme=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisme = organisme
        self.fields["structure"].required = True

    def clean_structure(self):
        structure = self.cleaned_data["structure"]
        try:
            check_quota(structure, Role.GESTIONNAIRE, self.organisme)
        except AccountRuleError as error:
            raise forms.ValidationError(str(error)) from error
        return structure


class AccountChangeForm(AccountFormMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = PERSON_FIELDS


class AgentCreationForm(AccountFormMixin, forms.ModelForm):
    role = Role.AGENT

    class Meta:
        model = User
        fields = ("organisme", *PERSON_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisme"].required = True


# --- Sign-in and account security -----------------------------------------------------------


class LoginForm(LimitsSaidNotCutMixin, auth_forms.AuthenticationForm):
    """Log-in by identifiant; typed in any case, with stray spaces."""

    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        # Django's message says the fields are case-sensitive; the identifiant is not.
        "invalid_login": _(
            "Identifiant ou mot de passe incorrect. Après %(limit)s essais infructueux, la "
            "connexion est bloquée pendant %(minutes)s minutes."
        ),
    }

    def get_invalid_login_error(self):
        return forms.ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={
                "limit": settings.AXES_FAILURE_LIMIT,
                "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            },
        )

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()


def password_rule() -> str:
    """The rule of the validators in force (settings.AUTH_PASSWORD_VALIDATORS), in one sentence."""
    minimum = next(
        (
            validator.min_length
            for validator in password_validation.get_default_password_validators()
            if isinstance(validator, password_validation.MinimumLengthValidator)
        ),
        8,
    )
    return _(
        "Au moins %(minimum)s caractères ; ni un mot de passe courant, ni uniquement des "
        "chiffres, ni proche de vos prénom, nom, identifiant ou adresse e-mail."
    ) % {"minimum": minimum}


class PasswordRuleMixin:
    """The rule said next to the first password field, before it is broken, and what breaks it
    said there too; only a mismatch goes next to the confirmation (issue 19, item 9). Django's
    forms put every error on the confirmation, under a list of the validators' help texts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_rule()
        self.fields["new_password2"].help_text = _(
            "Saisissez le même mot de passe, pour vérification."
        )

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)


class PasswordChangeForm(PasswordRuleMixin, auth_forms.PasswordChangeForm):
    def save(self, commit=True):
        record_new_password(self.user, self.cleaned_data["new_password1"])
        return self.user


class SetPasswordForm(PasswordRuleMixin, auth_forms.SetPasswordForm):
    def save(self, commit=True):
        record_new_password(self.user, self.cleaned_data["new_password1"])
        return self.user


class EmailRequestForm(LimitsSaidNotCutMixin, forms.Form):
    email = forms.EmailField(
        label=_("Adresse e-mail de votre compte"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class CguForm(forms.Form):
    accept = forms.BooleanField(
        label=_("J'ai lu les conditions générales d'utilisation et je m'engage à les respecter."),
        error_messages={"required": _("Cochez la case pour accepter les conditions.")},
    )


class EndingSoonSelect(forms.Select):
    """Options of organismes whose convention ends within 30 days get a class (shown in red)."""

    def __init__(self, *args, ending_soon=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.ending_soon = {str(pk) for pk in ending_soon}

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.ending_soon:
            option["attrs"]["class"] = "ending-soon"
        return option


class OrganismeSelectionForm(forms.Form):
    organisme = forms.TypedChoiceField(
        label=_("Sélectionnez l'organisme sur lequel vous souhaitez vous connecter."),
        coerce=int,
        error_messages={
            "required": _("Sélectionnez un organisme."),
            "invalid_choice": _("Sélectionnez un organisme de la liste."),
        },
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organisme"]
        field.choices = [("", _("Sélectionner un organisme"))] + [
            (choice.organisme.pk, f"{choice.organisme.nom}{' *' if choice.ends_soon else ''}")
            for choice in choices
        ]
        field.widget = EndingSoonSelect(
            choices=field.choices,
            ending_soon=[choice.organisme.pk for choice in choices if choice.ends_soon],
        )


# --- The gestionnaire's management of techniciens -------------------------------------------


class TechnicienCreationForm(AccountFormMixin, forms.ModelForm):
    role = Role.TECHNICIEN

    class Meta:
        model = User
        fields = PERSON_FIELDS

    def __init__(self, *args, structure=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.structure = structure


class ReactivationForm(forms.Form):
    """Step 2 of manual 000 §IV-2.3. The label, its required marker and its limit are written by
    the template in the manual's words: "Préciser le motif de réactivation * (5000 caractères
    maximum)"; the server, not the browser, refuses an empty or longer reason (aria-required
    says it is required, without the browser's own bubble)."""

    use_required_attribute = False
    motif = forms.CharField(
        label=_("Préciser le motif de réactivation"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5, "aria-required": "true"}),
        error_messages={"required": _("Le motif de réactivation est obligatoire.")},
        validators=[validate_no_nir],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        without_maxlength(self.fields.values())


class SecondFactorCodeForm(forms.Form):
    """The code of the second factor: the app's six digits, or (`recovery`) a recovery code."""

    code = forms.CharField(
        label=_("Code à 6 chiffres affiché par l'application"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, recovery: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if recovery:
            field = self.fields["code"]
            field.label = _("Code de l'application ou code de secours")
            field.help_text = _(
                "Les 6 chiffres affichés par votre application d'authentification, ou l'un de "
                "vos codes de secours (chacun ne sert qu'une fois)."
            )
            field.widget.attrs["inputmode"] = "text"

    def reject(self) -> None:
        self.add_error("code", _("Ce code n'est pas valide. Vérifiez-le et réessayez."))


class HabilitationReviewForm(forms.Form):
    """One decision per active technicien of the structure: confirm, or inactivate (SPEC §10).

    Only the techniciens given are fields: a decision posted for another account is ignored.
    """

    CONFIRM = "confirmer"
    INACTIVATE = "inactiver"
    CHOICES = ((CONFIRM, _("Confirmer l'habilitation")), (INACTIVATE, _("Inactiver le compte")))

    def __init__(self, *args, techniciens: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.techniciens = techniciens
        for technicien in techniciens:
            self.fields[f"decision_{technicien.pk}"] = forms.ChoiceField(
                label=f"{technicien.get_civilite_display()} {technicien.nom} {technicien.prenom}",
                choices=self.CHOICES,
                error_messages={
                    "required": _("Choisissez de confirmer ou d'inactiver ce compte."),
                    "invalid_choice": _("Choisissez de confirmer ou d'inactiver ce compte."),
                },
            )

    def rows(self) -> list[tuple[User, forms.BoundField]]:
        return [(technicien, self[f"decision_{technicien.pk}"]) for technicien in self.techniciens]

    def decisions(self) -> dict[int, str]:
        return {
            technicien.pk: self.cleaned_data[f"decision_{technicien.pk}"]
            for technicien in self.techniciens
        }
