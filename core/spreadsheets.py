"""CSV for spreadsheets (the accounts' export, the indicators): French settings, and no cell that
a spreadsheet would run as a formula.

A value a person typed (a fonction, a structure's name) that starts with =, +, -, @, a tab or a
carriage return is written with a leading apostrophe, which spreadsheets show as text (OWASP's
"CSV injection"); numbers are written as they are.
"""

import csv
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SpreadsheetWriter:
    """csv.writer with ';' (what French spreadsheets expect) whose rows are neutralised."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, delimiter=";", **options)

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([neutralised(value) for value in row])
