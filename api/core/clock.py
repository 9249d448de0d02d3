"""Working-day arithmetic on the Asia/Jakarta calendar (weekends and city holidays off)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
SATURDAY = 5


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
