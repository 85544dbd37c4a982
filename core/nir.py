"""Free text must hold no NIR (SPEC §5, §10): the number is refused wherever it is typed.

One normaliser and one detector, for every app (core is the lowest layer):

1. `normalise`: Unicode NFKC (full-width digits and spaces, compatibility forms), invisible
   characters removed (zero-width spaces and joiners, word joiner, BOM, soft hyphen, bidi
   controls: every format character), any decimal digit as 0–9, dashes and minus signs as '-',
   any space (no-break, narrow no-break, thin, tab, line break) as ' '.
   An IBAN whose check digits are right (ISO 13616, mod 97) is then blanked out: bank details
   are never refused, even when 15 of their digits happen to make a NIR.
2. Runs of numbers: digit groups (2A/2B count as digits, for Corsica) joined by any run of
   separators (spaces, dots, dashes, slashes, underscores, plus signs: a space once a form or a
   query string encodes it). Letters and other signs end a run,
   so digits glued to letters are found too ('NIR185057800608436').
3. Candidates: consecutive whole groups of a run with 13 or 15 digits in NIR shape: sex 1, 2, 3,
   4, 7 or 8; year; month 01–12 or 20–99; département (2A/2B accepted); commune; order; key.
   A group is never split: a 16-digit card number holds no 15-digit NIR.

Which candidates are refused (docs/decisions.md, issue 16): the shape alone refuses a number
written as one (unbroken, or grouped along the NIR's own fields: 1 85 05 78 006 084 36), and a
number that stands alone in any other grouping (185 057 800 608 436), for 13 digits have no key
and a mistyped key still discloses the person. The key (97 − number mod 97, 2A → 19, 2B → 18)
settles only the ambiguous 15-digit candidates, those that look like other identifiers: a part
of a longer run of numbers (the tail of an IBAN, numbers in a row) or grouped in 4s and 5s (bank
details, lists of postcodes); these are refused when their key is the true one.
"""

import re
import unicodedata
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NIR_MESSAGE = _(
    "Ce texte semble contenir un numéro de sécurité sociale (NIR) : il est interdit "
    "de le transmettre par Espace Partenaires. Retirez-le ; l'organisme retrouvera "
    "l'assuré avec son nom, son prénom et sa date de naissance."
)

# Invisible characters that are not format characters (Cf): the combining grapheme joiner,
# Hangul and Khmer fillers, variation selectors.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u3164\uffa0"
    + "".join(chr(code) for code in range(0xFE00, 0xFE10))
)
# Signs that are dashes without being Unicode dash punctuation (Pd).
_MINUS_SIGNS = frozenset("\u2212\u2796\ufe63\uff0d")

_GROUP = r"[0-9]+(?:(?<=2)[AB][0-9]*)?"  # 2A / 2B inside a number: a Corsican département
_SEPARATORS = r"[ ./_+\-]+"
_RUN = re.compile(rf"{_GROUP}(?:{_SEPARATORS}{_GROUP})*", re.IGNORECASE)
_SHAPE = re.compile(
    r"[123478]"  # sex (7, 8: temporary numbers)
    r"[0-9]{2}"  # year
    r"(?:0[1-9]|1[0-2]|[2-9][0-9])"  # month (20–99: numbers given without a known month)
    r"(?:[0-9]{2}|2[AB])"  # département
    r"[0-9]{6}"  # commune, order
    r"(?:[0-9]{2})?"  # key
)
# Where the NIR's own fields meet: sex | year | month | département | commune | order | key.
_FIELD_BOUNDARIES = frozenset({1, 3, 5, 7, 10, 13})


def normalise(text: str) -> str:
    """The text as the detector reads it (see the module's docstring, step 1)."""
    chars = []
    for char in unicodedata.normalize("NFKC", text):
        category = unicodedata.category(char)
        if category == "Cf" or char in _INVISIBLE:
            continue
        if category == "Nd":
            chars.append(str(unicodedata.decimal(char)))
        elif category == "Pd" or char in _MINUS_SIGNS:
            chars.append("-")
        elif char.isspace():
            chars.append(" ")
        else:
            chars.append(char)
    return "".join(chars)


def _key_is_right(candidate: str) -> bool:
    number = int(candidate[:13].replace("2A", "19").replace("2B", "18"))
    return 97 - number % 97 == int(candidate[13:])


def _refused(groups: list[str], *, whole_run: bool) -> bool:
    candidate = "".join(groups)
    if len(groups) == 1:
        return True  # written as one number: nothing else looks like it
    lengths = [len(group) for group in groups]
    boundaries = {sum(lengths[:i]) for i in range(1, len(lengths))}
    like_bank_or_postcodes = sum(length in (4, 5) for length in lengths) >= 2
    if (boundaries <= _FIELD_BOUNDARIES or whole_run) and not like_bank_or_postcodes:
        return True
    return len(candidate) == 15 and _key_is_right(candidate)


def _candidates(text: str) -> Iterator[tuple[list[str], bool]]:
    """(groups, whether they are the whole run) of every NIR-shaped span of whole groups."""
    for run in _RUN.finditer(text):
        groups = re.split(_SEPARATORS, run.group().upper())
        for start in range(len(groups)):
            length = 0
            for end in range(start, len(groups)):
                length += len(groups[end])
                if length > 15:
                    break
                span = groups[start : end + 1]
                if length in (13, 15) and _SHAPE.fullmatch("".join(span)):
                    yield span, len(span) == len(groups)


# An IBAN as written on bank details (ISO 13616): country, check digits, then groups of four.
_IBAN = re.compile(
    r"(?<![A-Z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])"
)


def _without_ibans(text: str) -> str:
    """The text with every IBAN whose check digits are right blanked out: its digits are a bank
    account's, never refused (SPEC §10), even when 15 of them happen to make a NIR."""

    def blank(match: re.Match) -> str:
        compact = match.group().replace(" ", "")
        rearranged = compact[4:] + compact[:4]
        number = int("".join(str(int(char, 36)) for char in rearranged))
        return "#" * len(match.group()) if number % 97 == 1 else match.group()

    return _IBAN.sub(blank, text)


def contains_nir(text: str) -> bool:
    text = _without_ibans(normalise(text or "").upper())
    return any(_refused(groups, whole_run=whole_run) for groups, whole_run in _candidates(text))


def validate_no_nir(text: str) -> None:
    if contains_nir(text):
        raise ValidationError(NIR_MESSAGE, code="nir")
