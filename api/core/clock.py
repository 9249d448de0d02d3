"""Time: the city's zone, UTC instants, and working-day arithmetic on the Asia/Jakarta
calendar.

Days off are weekends, Indonesia's national holidays and the government's collective leave
days (cuti bersama), both from the ``holidays`` package, and the city's own extra days
(``LAPOR_API_HOLIDAYS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from api.core.errors import TimeOutOfRange

JAKARTA = ZoneInfo("Asia/Jakarta")
SATURDAY = 5
# "public": the national holidays; "government": the collective leave days (cuti bersama)
# the government sets for its offices each year. LAPOR! deadlines are the city offices'
# working days, and those offices are closed on both.
NATIONAL_CATEGORIES = ("public", "government")


@lru_cache(maxsize=64)
def national_holidays(year: int) -> frozenset[date]:
    """Indonesia's national holidays and cuti bersama of ``year``.

    Years the package has no decree for yet are its estimate (Islamic holidays are marked
    "estimated"); a city that learns of a change adds the day with ``LAPOR_API_HOLIDAYS``.
    """
    days = holidays.country_holidays("ID", years=year, categories=NATIONAL_CATEGORIES)
    return frozenset(days)


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """In UTC: SQLite keeps no offset, so every stored time is UTC; naive input is UTC.

    TimeOutOfRange for a time whose UTC is past datetime's range, such as
    0001-01-01T00:00:00+14:00: a ValueError (a 422 in a validator) and an OverflowError
    (the API's 422 ``invalid_value`` anywhere else)."""
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise TimeOutOfRange(f"{value.isoformat()} is out of range") from None


class WorkCalendar:
    """Which days are working days: Monday to Friday, minus national and city holidays."""

    def __init__(self, holidays: Iterable[date] = (), *, national: bool = True) -> None:
        # The city's own days off, on top of the national ones.
        self.holidays = frozenset(holidays)
        self.national = national

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= SATURDAY or day in self.holidays:
            return False
        return not (self.national and day in national_holidays(day.year))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end (23:59:59.999999 WIB) of the ``days``-th working day after ``start``'s day.

        A complaint received on Friday evening with 3 working days is due at the end of
        Wednesday; weekend and holiday arrivals count from the next working day.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        day = start.astimezone(JAKARTA).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, time.max, tzinfo=JAKARTA)
