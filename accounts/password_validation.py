"""A password validator for what Django's UserAttributeSimilarityValidator misses: the person's
first and last names run together ('ivyinvite2026' for Ivy INVITE), since Django compares each
attribute alone ('invite' is too short a part of 'ivyinvite2026' to be found similar)."""

import itertools
import re
import unicodedata
from difflib import SequenceMatcher

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_SIMILARITY = 0.7  # as Django's validator


def _letters(value: str) -> str:
    """'Élodie d'Artagnan' → 'elodiedartagnan': what stays of a name in a password."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    return re.sub(
        r"[^a-z0-9]", "", "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    )


class PersonNameSimilarityValidator:
    def validate(self, password: str, user=None) -> None:
        if user is None:
            return
        names = [getattr(user, name, "") for name in ("prenom", "nom_usuel", "nom_patronymique")]
        names = [_letters(name) for name in names if name]
        candidates = {_letters(getattr(user, "identifiant", ""))}
        candidates |= {a + b for a, b in itertools.permutations(names, 2)}
        typed = _letters(password)
        for candidate in candidates:
            if len(candidate) < 6:
                continue  # single short words are Django's validator's business
            if candidate in typed or (
                SequenceMatcher(a=typed, b=candidate).quick_ratio() >= MAX_SIMILARITY
                and SequenceMatcher(a=typed, b=candidate).ratio() >= MAX_SIMILARITY
            ):
                raise ValidationError(
                    _("Le mot de passe ressemble trop à vos prénom, nom ou identifiant."),
                    code="password_too_similar",
                )

    def get_help_text(self) -> str:
        return _("Votre mot de passe ne peut pas reprendre vos prénom, nom ou identifiant.")
