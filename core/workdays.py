"""Working days of the fund: Monday to Friday, except the French public holidays.

The eleven public holidays of the Code du travail (art. L3133-1), as they apply in every
département; Alsace-Moselle's two more (Good Friday, 26 December) are not counted: a delay counted
there is a day shorter at worst. Easter by the anonymous Gregorian algorithm (Meeus/Jones/Butcher),
valid for every year of the Gregorian calendar; no dependency for eleven dates (docs/decisions.md).
"""

import datetime
from functools import lru_cache


def easter(year: int) -> datetime.date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


@lru_cache(maxsize=64)
def jours_feries(year: int) -> frozenset[datetime.date]:
    paques = easter(year)
    fixed = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))
    return frozenset(
        {
            *(datetime.date(year, month, day) for month, day in fixed),
            paques + datetime.timedelta(days=1),  # lundi de Pâques
            paques + datetime.timedelta(days=39),  # Ascension
            paques + datetime.timedelta(days=50),  # lundi de Pentecôte
        }
    )


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in jours_feries(day.year)


# A pure function of two dates, asked for each row of the work queue (its age column) with the
# same few hundred dates all day long: remembered (7 µs a call otherwise, issue 20).
@lru_cache(maxsize=4096)
def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """The working days after `start` up to `end` included: 0 on the same day, 1 from a Friday to
    the next Monday. Arithmetic on whole weeks, then the holidays of the years in between."""
    if end <= start:
        return 0
    full_weeks, rest = divmod((end - start).days, 7)
    count = full_weeks * 5 + sum(
        1 for n in range(1, rest + 1) if (start + datetime.timedelta(days=n)).weekday() < 5
    )
    holidays = sum(
        1
        for year in range(start.year, end.year + 1)
        for day in jours_feries(year)
        if start < day <= end and day.weekday() < 5
    )
    return count - holidays


def earliest_within(days: int, today: datetime.date) -> datetime.date:
    """The first day D such that working_days_between(D, today) <= days: anything sent before D
    is past a delay of `days` working days today."""
    day, found = today, 0
    while True:
        if is_working_day(day):
            found += 1
            if found == days + 1:
                return day
        day -= datetime.timedelta(days=1)
