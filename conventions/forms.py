from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Convention, default_quotas

QUOTA_HELP = _(
    "Laissez vide pour la valeur proposée selon le nombre de membres de la structure : "
    "1 à 10 membres → 2 gestionnaires et 5 techniciens ; 11 à 25 → 3 et 15 ; plus de 25 → 5 et 25."
)


class ConventionAdminForm(forms.ModelForm):
    class Meta:
        model = Convention
        fields = (
            "organisme",
            "structure",
            "reference",
            "date_debut",
            "date_fin",
            "max_gestionnaires",
            "max_techniciens",
            "offres",
            "contact_reserve_aux_gestionnaires",
            "habilitee",
        )
        widgets = {"offres": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("max_gestionnaires", "max_techniciens"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = QUOTA_HELP

    def clean(self):
        cleaned = super().clean()
        missing = [n for n in ("max_gestionnaires", "max_techniciens") if cleaned.get(n) is None]
        if missing:
            structure = cleaned.get("structure")
            if structure is None:
                try:
                    structure = self.instance.structure
                except Convention.structure.RelatedObjectDoesNotExist:
                    structure = None
            if structure is not None and structure.nombre_membres:
                gestionnaires, techniciens = default_quotas(structure.nombre_membres)
                defaults = {"max_gestionnaires": gestionnaires, "max_techniciens": techniciens}
                for name in missing:
                    if name not in self.errors:
                        cleaned[name] = defaults[name]
        return cleaned
