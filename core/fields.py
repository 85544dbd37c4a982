"""Model fields that carry the field rules of SPEC §3 into every ModelForm (portal and admin)."""

from django.db import models

from . import validators


class NomField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", validators.NOM_MAX_LENGTH)
        super().__init__(*args, **kwargs)
        self.validators.append(validators.validate_name_characters)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": validators.NomFormField, **kwargs})


class PrenomField(models.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", validators.PRENOM_MAX_LENGTH)
        super().__init__(*args, **kwargs)
        self.validators.append(validators.validate_name_characters)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": validators.PrenomFormField, **kwargs})


class TelephoneField(models.CharField):
    """Stored as 'nn.nn.nn.nn.nn'."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 14)
        super().__init__(*args, **kwargs)
        self.validators.append(validators.validate_telephone)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": validators.TelephoneFormField, **kwargs})


class LowerEmailField(models.EmailField):
    """Stored lower-case, so that uniqueness does not depend on how it was typed."""

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": validators.EmailFormField, **kwargs})
