"""Calendar months, for the delays the funds express in months (dateutil is not a dependency)."""

import calendar
import datetime


def months_before[T: (datetime.date, datetime.datetime)](moment: T, months: int) -> T:
    """The same day `months` calendar months earlier, clamped to the end of a shorter month.

    31 August minus 6 months is 28 (or 29) February; the time of day and time zone are kept.
    A negative `months` counts forward.
    """
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
