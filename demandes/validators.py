"""Free text must hold no NIR (SPEC §5): the number is refused wherever it is typed."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEP = r"[ .]?"
# Sex 1/2 (or 3, 4, 7, 8 for special cases), year, month, département (2A/2B for Corsica),
# commune, order number, then the optional 2-digit key; blocks may be split by a space or a dot.
NIR_RE = re.compile(
    rf"(?<![0-9A-Za-z])[1-478]{_SEP}\d\d{_SEP}\d\d{_SEP}(?:\d\d|2[AaBb]){_SEP}\d{{3}}{_SEP}\d{{3}}"
    rf"(?:{_SEP}\d\d)?(?![0-9A-Za-z])"
)


def contains_nir(text: str) -> bool:
    return bool(NIR_RE.search(text or ""))


def validate_no_nir(text: str) -> None:
    if contains_nir(text):
        raise ValidationError(
            _(
                "Ce texte semble contenir un numéro de sécurité sociale (NIR) : il est interdit "
                "de le transmettre par Espace Partenaires. Retirez-le ; l'organisme retrouvera "
                "l'assuré avec son nom, son prénom et sa date de naissance."
            ),
            code="nir",
        )
