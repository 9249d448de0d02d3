"""Working-day deadlines over Indonesia's holidays, from the ``holidays`` package.

Idul Fitri 2027 (1448 H): Nyepi on Monday 8 March, cuti bersama on Tuesday 9, Idul Fitri on
Wednesday 10 and Thursday 11, cuti bersama on Friday 12 and Monday 15 March: from Friday
5 March the next working day is Tuesday 16 March.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from api.complaints.workflow import ComplaintStatus, deadline
from api.core.clock import JAKARTA, WorkCalendar, national_holidays
from api.core.settings import ApiSettings

S = ComplaintStatus
IDUL_FITRI_2027_OFF = [date(2027, 3, d) for d in (8, 9, 10, 11, 12, 15)]


def wib(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=JAKARTA)


def test_idul_fitri_2027_and_its_cuti_bersama_are_days_off() -> None:
    calendar = WorkCalendar()
    for day in IDUL_FITRI_2027_OFF:
        assert not calendar.is_working_day(day), day
    assert calendar.is_working_day(date(2027, 3, 5))  # the Friday before
    assert calendar.is_working_day(date(2027, 3, 16))  # the Tuesday after


def test_cuti_bersama_comes_from_the_government_category() -> None:
    # 9 March 2027 is collective leave, not a public holiday: without the government
    # category it would be a working day.
    assert date(2027, 3, 9) in national_holidays(2027)
    assert date(2027, 3, 10) in national_holidays(2027)


def test_forward_deadline_across_idul_fitri_2027() -> None:
    # Received Friday 5 March 2027, 3 working days to forward: 16, 17 and 18 March.
    due = deadline(S.diterima, wib(2027, 3, 5, 10), None, WorkCalendar())
    assert due is not None
    assert due.date() == date(2027, 3, 18)
    assert (due.hour, due.minute) == (23, 59)
    # Weekends alone (national holidays off) would make it Wednesday 10 March.
    plain = deadline(S.diterima, wib(2027, 3, 5, 10), None, WorkCalendar(national=False))
    assert plain is not None
    assert plain.date() == date(2027, 3, 10)


def test_follow_up_deadline_across_idul_fitri_2027() -> None:
    # Forwarded Thursday 4 March 2027, 5 working days: Friday 5, then 16, 17, 18, 19.
    received, forwarded = wib(2027, 3, 3, 9), wib(2027, 3, 4, 14)
    due = deadline(S.dilaporkan, received, forwarded, WorkCalendar())
    assert due is not None
    assert due.date() == date(2027, 3, 19)


def test_a_complaint_arriving_during_the_holiday_counts_from_the_first_working_day() -> None:
    # A Thursday-of-Lebaran SMS: 16, 17, 18 March.
    due = WorkCalendar().add_working_days(wib(2027, 3, 11, 20), 3)
    assert due.date() == date(2027, 3, 18)


def test_the_city_adds_its_own_days_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The city's anniversary on Tuesday 16 March 2027, on top of the national days.
    monkeypatch.setenv("LAPOR_API_HOLIDAYS", '["2027-03-16"]')
    calendar = WorkCalendar(ApiSettings().holidays)
    due = deadline(S.diterima, wib(2027, 3, 5, 10), None, calendar)
    assert due is not None
    assert due.date() == date(2027, 3, 19)
