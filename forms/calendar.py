"""Working days of fieldwork: Monday to Friday, less Kyrgyzstan's public holidays and any other
day off the study names.

Public holidays come from the ``holidays`` package (its Kyrgyzstan calendar follows the Labour
Code of 2025: the New Year days 1-7 January, Nooruz, the May days, Independence Day, and Orozo Ait
and Kurman Ait, whose dates the government announces each year: until then the package marks them
"estimated"). Field teams do not work on them: offices are closed, villages celebrate, nobody is
at home for an interview or at the aiyl okmotu for an assessment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container

import holidays

# our language code -> the holidays package's language for Kyrgyzstan's holiday names
HOLIDAY_LANGUAGES = {"ru": "ru_KG", "ky": "ky", "en": "en_US"}


def public_holidays(lang: str = "en") -> holidays.HolidayBase:
    """Kyrgyzstan's public holidays, named in ``lang``; years are filled in as they are asked."""
    return holidays.country_holidays("KG", language=HOLIDAY_LANGUAGES[lang])


def is_working_day(day: dt.date, days_off: Container[dt.date] = ()) -> bool:
    return day.weekday() < 5 and day not in days_off


def working_days(start: dt.date, count: int, days_off: Container[dt.date] = ()) -> list[dt.date]:
    """The first ``count`` working days on or after ``start`` (Monday to Friday, not in
    ``days_off``)."""
    days, day = [], start
    while len(days) < count:
        if is_working_day(day, days_off):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def next_monday(today: dt.date) -> dt.date:
    """The Monday after ``today`` (a week on when today is a Monday: a plan needs a day to be
    agreed)."""
    return today + dt.timedelta(days=7 - today.weekday())
