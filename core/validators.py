"""Field rules of SPEC §3, shared by the portal forms and the admin.

Each rule is a normaliser (what is stored) and a validator (what is accepted, with the French
message shown next to the field). The form fields at the bottom bind them, and the model fields in
`core.fields` hand those form fields to every ModelForm, the admin's included.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NOM_MAX_LENGTH = 30
PRENOM_MAX_LENGTH = 20
FONCTION_MAX_LENGTH = 20

_NAME_SEPARATORS = frozenset(" '-")
_NAME_PART_SEPARATORS = re.compile(r"([ '\-])")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
# Letters that Unicode does not decompose into a–z: without this, Œdipe CŒUR would be 'd.cur'.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def nfc(value: str) -> str:
    """One spelling for one text: 'é' typed as 'e' and a combining accent becomes 'é'."""
    return unicodedata.normalize("NFC", value)


def validate_visible_characters(value: str) -> None:
    """Refuse control and format characters (Unicode Cc, Cf): zero-width spaces, a right-to-left
    override that shows a name other than the one stored, a stray tab."""
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise ValidationError(
            _("Ce texte contient des caractères invisibles ou de contrôle : retapez-le."),
            code="invisible_characters",
        )


def _clean_spaces(value: str) -> str:
    value = nfc(value).translate(_APOSTROPHES)
    return re.sub(r"\s+", " ", value).strip()


def normalize_nom(value: str) -> str:
    """'de la Fontaine ' → 'DE LA FONTAINE'."""
    return _clean_spaces(value).upper()


def normalize_prenom(value: str) -> str:
    """'jean-pierre' → 'Jean-Pierre', 'MARIE claire' → 'Marie Claire'."""
    parts = _NAME_PART_SEPARATORS.split(_clean_spaces(value).lower())
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _is_latin_letter(char: str) -> bool:
    # Latin script, accented or not (é, ç, ğ, ł…): what French civil status uses, and what a
    # login identifier can be built from.
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


def validate_name_characters(value: str) -> None:
    allowed = all(_is_latin_letter(char) or char in _NAME_SEPARATORS for char in value)
    if not allowed or not any(char.isalpha() for char in value):
        raise ValidationError(
            _("Caractères acceptés : lettres (accentuées ou non), espace, tiret et apostrophe."),
            code="invalid_characters",
        )


def normalize_telephone(value: str) -> str:
    """'0700000000', '07 00 00 00 00', '07.00.00.00.00' → '07.00.00.00.00'.

    Anything that is not ten digits once spaces and dots are removed is returned unchanged, for
    `validate_telephone` to refuse.
    """
    digits = re.sub(r"[ .]", "", value.strip())
    if not re.fullmatch(r"\d{10}", digits):
        return value.strip()
    return ".".join(digits[i : i + 2] for i in range(0, 10, 2))


def validate_telephone(value: str) -> None:
    if not re.fullmatch(r"0\d(?:\.\d\d){4}", normalize_telephone(value)):
        raise ValidationError(
            _(
                "Saisissez un numéro de téléphone à 10 chiffres commençant par 0, "
                "par exemple 07.00.00.00.00."
            ),
            code="invalid_telephone",
        )


def normalize_email(value: str) -> str:
    return value.strip().lower()


def login_identifier_base(prenom: str, nom: str) -> str:
    """First letter of the prénom, a dot, the nom; lower-case, letters a–z only.

    Maryse PICHON → 'm.pichon'; Élodie D'ARTAGNAN-LÉVÊQUE → 'e.dartagnanleveque'.
    """

    def letters(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
        return "".join(char for char in decomposed if "a" <= char <= "z")

    return f"{letters(prenom)[:1]}.{letters(nom)}"


def without_maxlength(fields) -> None:
    """Drop the maxlength attribute Django gives a limited field's input: the browser would cut
    what is typed or pasted at the limit without a word (a 25-letter prénom sent as 20). The
    limit is said in the help text, and the server refuses a longer value next to the field,
    with what was typed kept (issue 19, item 3)."""
    for field in fields:
        field.widget.attrs.pop("maxlength", None)


class LimitsSaidNotCutMixin:
    """A portal form whose inputs carry no maxlength (see `without_maxlength`): first among the
    form's bases, so that the fields its own __init__ adjusts are stripped too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        without_maxlength(self.fields.values())


class LimitSaidNotCut:
    """A form field whose input has no maxlength (see `without_maxlength`)."""

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


# The rules of manual 000 §IV-1, in its words, shown before they are broken.
NOM_RULE = _("30 caractères maximum (accepté alpha, espace, tiret, apostrophe).")
PRENOM_RULE = _("20 caractères maximum (accepté alpha, espace, tiret, apostrophe).")
FONCTION_RULE = _("20 caractères maximum.")
TELEPHONE_RULE = _(
    "10 chiffres avec un point entre chaque nombre de 2 chiffres : 07.00.00.00.00 (les points "
    "sont ajoutés s'ils manquent)."
)


class NomFormField(LimitSaidNotCut, forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NOM_MAX_LENGTH)
        kwargs.setdefault("help_text", NOM_RULE)
        super().__init__(**kwargs)
        self.validators.append(validate_name_characters)

    def to_python(self, value):
        return normalize_nom(super().to_python(value))


class PrenomFormField(LimitSaidNotCut, forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", PRENOM_MAX_LENGTH)
        kwargs.setdefault("help_text", PRENOM_RULE)
        super().__init__(**kwargs)
        self.validators.append(validate_name_characters)

    def to_python(self, value):
        return normalize_prenom(super().to_python(value))


class TextLineFormField(forms.CharField):
    """A line of text a person types (an insured person's name): one Unicode spelling, and no
    invisible character."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(validate_visible_characters)

    def to_python(self, value):
        return nfc(super().to_python(value))


class TelephoneFormField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs["max_length"] = None  # "07 00 00 00 00" is longer than what is stored
        kwargs.setdefault("help_text", TELEPHONE_RULE)
        super().__init__(**kwargs)
        self.validators.append(validate_telephone)

    def widget_attrs(self, widget):
        # The seed's placeholder is the format; the help text says it in words, always visible.
        return {
            **super().widget_attrs(widget),
            "inputmode": "tel",
            "autocomplete": "tel",
            "placeholder": "XX.XX.XX.XX.XX",
        }

    def to_python(self, value):
        return normalize_telephone(super().to_python(value))


class EmailFormField(forms.EmailField):
    def to_python(self, value):
        return normalize_email(super().to_python(value))
