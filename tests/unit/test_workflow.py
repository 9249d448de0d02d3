"""The complaint workflow: every (from, to) pair for every role, and the deadlines."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest

from api.complaints.workflow import (
    TRANSITIONS,
    ComplaintStatus,
    TransitionRequest,
    check_transition,
    deadline,
)
from api.core.auth import Role
from api.core.clock import JAKARTA, WorkCalendar
from api.core.errors import Conflict, InvalidInput

S = ComplaintStatus
LEGAL = {
    (S.diterima, S.diverifikasi),
    (S.diverifikasi, S.dilaporkan),
    (S.dilaporkan, S.ditindaklanjuti),
    (S.ditindaklanjuti, S.selesai),
    (S.diterima, S.ditolak),
    (S.diverifikasi, S.ditolak),
    (S.dilaporkan, S.ditolak),
}
ALL_PAIRS = list(itertools.product(S, S))


def complete(to: ComplaintStatus) -> TransitionRequest:
    """A request carrying every detail any target needs."""
    return TransitionRequest(to=to, note="catatan", unit="Dinas PU")


def test_the_table_is_exactly_the_legal_flow() -> None:
    assert set(TRANSITIONS) == LEGAL


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_pair_for_every_role(current: ComplaintStatus, target: ComplaintStatus) -> None:
    for role in Role:
        allowed = (current, target) in LEGAL and role in TRANSITIONS[(current, target)]
        if allowed:
            check_transition(current, complete(target), role)
        else:
            with pytest.raises(Conflict) as error:
                check_transition(current, complete(target), role)
            assert error.value.status_code == 409
            assert str(current) in error.value.message or str(role) in error.value.message


def test_closed_complaints_say_they_are_closed() -> None:
    with pytest.raises(Conflict, match="it is closed"):
        check_transition(S.selesai, complete(S.diterima), Role.admin)


@pytest.mark.parametrize(
    ("current", "request_", "missing"),
    [
        (S.diterima, TransitionRequest(to=S.ditolak), "reason"),
        (S.dilaporkan, TransitionRequest(to=S.ditindaklanjuti, note="perbaiki"), "unit"),
        (S.dilaporkan, TransitionRequest(to=S.ditindaklanjuti, unit="Dinas PU"), "instruction"),
        (S.ditindaklanjuti, TransitionRequest(to=S.selesai, note="  "), "closing note"),
    ],
)
def test_moves_that_need_details_refuse_without_them(
    current: ComplaintStatus, request_: TransitionRequest, missing: str
) -> None:
    with pytest.raises(InvalidInput, match=missing):
        check_transition(current, request_, Role.admin)


def test_a_duplicate_may_be_rejected_by_naming_the_original() -> None:
    check_transition(
        S.diterima, TransitionRequest(to=S.ditolak, duplicate_of="1200001"), Role.supervisor
    )


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=JAKARTA)


def test_friday_evening_plus_three_working_days_is_wednesday_night() -> None:
    due = WorkCalendar().add_working_days(at(4, 21), 3)  # 4 Dec 2026 is a Friday
    assert due.date() == date(2026, 12, 9)
    assert (due.hour, due.minute) == (23, 59)


def test_holidays_and_weekends_are_skipped() -> None:
    calendar = WorkCalendar({date(2026, 12, 25)})  # Friday
    assert calendar.add_working_days(at(24, 10), 1).date() == date(2026, 12, 28)


def test_day_boundaries_are_jakarta_time() -> None:
    # 17:30 UTC on Monday is 00:30 Tuesday in Jakarta.
    utc_evening = datetime.fromisoformat("2026-12-07T17:30:00+00:00")
    assert WorkCalendar().add_working_days(utc_evening, 1).date() == date(2026, 12, 9)


def test_deadlines_per_stage() -> None:
    calendar = WorkCalendar()
    received, forwarded = at(7, 9), at(8, 9)
    forward_due = deadline(S.diterima, received, None, calendar)
    follow_up_due = deadline(S.ditindaklanjuti, received, forwarded, calendar)
    assert forward_due is not None
    assert forward_due.date() == date(2026, 12, 10)
    assert follow_up_due is not None
    assert follow_up_due.date() == date(2026, 12, 15)
    assert deadline(S.selesai, received, forwarded, calendar) is None
    assert deadline(S.ditolak, received, None, calendar) is None
