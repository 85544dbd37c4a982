import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# La Poste's establishments share one SIREN whose SIRETs do not follow Luhn: the sum of their
# digits is a multiple of 5 instead (INSEE rule).
_LA_POSTE_SIREN = "356000000"


def normalize_siret(value: str) -> str:
    return re.sub(r"\s", "", value or "")


def is_valid_siret(value: str) -> bool:
    if not re.fullmatch(r"\d{14}", value):
        return False
    if value.startswith(_LA_POSTE_SIREN):
        return sum(int(digit) for digit in value) % 5 == 0
    total = 0
    for index, digit in enumerate(reversed(value)):
        number = int(digit)
        if index % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def validate_siret(value: str) -> None:
    value = normalize_siret(value)
    if not re.fullmatch(r"\d{14}", value):
        raise ValidationError(_("Le SIRET comporte 14 chiffres."), code="siret_length")
    if not is_valid_siret(value):
        raise ValidationError(
            _("Ce numéro SIRET n'est pas valide : vérifiez les 14 chiffres saisis."),
            code="siret_checksum",
        )


validate_code_postal = RegexValidator(
    r"^\d{5}$", _("Le code postal comporte 5 chiffres."), code="code_postal"
)
