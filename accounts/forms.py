from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Role, User
from .services import EDITABLE_FIELDS, AccountRuleError, check_quota

PERSON_FIELDS = EDITABLE_FIELDS


class AccountFormMixin:
    """The rules that involve several fields or other accounts (SPEC §3)."""

    role: str

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
        taken = User.objects.active().filter(role=role, email=email).exclude(pk=instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                _("Un compte actif de ce rôle utilise déjà cette adresse e-mail.")
            )
        return email


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
