"""Time: the city's zone, UTC instants, and working-day arithmetic on the Asia/Jakarta
calendar (weekends and city holidays off)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.core.errors import TimeOutOfRange

JAKARTA = ZoneInfo("Asia/Jakarta")
SATURDAY = 5


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
    """Which days are working days: Monday to Friday, minus the listed holidays."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays = frozenset(holidays)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < SATURDAY and day not in self.holidays

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
