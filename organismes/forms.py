from django import forms

from core.validators import LimitsSaidNotCutMixin

from .models import StructurePartenaire
from .services import COORDONNEES_FIELDS


class CoordonneesForm(LimitsSaidNotCutMixin, forms.ModelForm):
    """What a gestionnaire may change about the structure: its address and phone."""

    required_css_class = "required"

    class Meta:
        model = StructurePartenaire
        fields = COORDONNEES_FIELDS
        widgets = {
            "adresse": forms.TextInput(attrs={"autocomplete": "street-address"}),
            "code_postal": forms.TextInput(
                attrs={"autocomplete": "postal-code", "inputmode": "numeric"}
            ),
            "ville": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }
