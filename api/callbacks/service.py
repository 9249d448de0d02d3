"""Callbacks: callers who chose to be called back, and callers who gave up waiting.

The IVR delivers each request from a durable outbox, keyed by a request id it chose, so
creating is idempotent on that key.

The list officers work from merges those requests (id ``r<request id>``) with abandoned
calls (id ``c<call id>``), read straight from the call records rather than copied: a
call's row can be derived again at any time, and two ids from two tables never collide.
Dial state per id lives in ``callback_dial`` (api/callbacks/dial.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, field_validator
from sqlalchemy import and_
from sqlalchemy.orm import aliased
from sqlmodel import Field, Session, SQLModel, col, select

import asterisk_values as values
from api.callbacks.dial import CLOSED, CallbackDial, live_claim, settle
from api.callbacks.hold import SCHEDULED, hold_state, holds_of
from api.core.clock import as_utc, utc_now
from api.core.created import stored_once
from api.core.errors import NotFound
from api.core.numbers import national
from api.events.models import Call
from api.events.placeholders import PREFIX as PLACEHOLDER_PREFIX


class CallbackBase(SQLModel):
    # Chosen by the IVR (a UUID) so a redelivered request is recognised.
    request_id: str = Field(max_length=64, min_length=8)
    ticket: str | None = Field(default=None, max_length=8)
    number: str = Field(max_length=32)
    # Empty when the IVR could not tell which line was called.
    line: str = Field(default="", max_length=32)
    uniqueid: str = Field(max_length=64)
    # When the caller first entered the queue: the callback list keeps that order.
    queue_entered_at: datetime
    requested_at: datetime


class CallbackCreate(CallbackBase):
    # The number, line and ticket go back to Asterisk when the citizen is called back:
    # each is checked as its kind here (asterisk_values), full match.
    _aware = field_validator("queue_entered_at", "requested_at")(as_utc)
    _number = field_validator("number")(lambda number: values.phone_number(national(number)))
    _line = field_validator("line")(lambda line: values.line(line) if line else line)
    _ticket = field_validator("ticket")(lambda ticket: ticket and values.ticket(ticket))


class CallbackRequest(CallbackBase, table=True):
    __tablename__ = "callback_request"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utc_now)


class CallbackPublic(CallbackBase):
    id: int
    created_at: datetime


def create_callback(session: Session, *, data: CallbackCreate) -> tuple[CallbackRequest, bool]:
    """Store a callback request; a known request id returns the stored one."""
    known = select(CallbackRequest).where(CallbackRequest.request_id == data.request_id)
    return stored_once(session, CallbackRequest.model_validate(data), known)


# Abandoned calls worth a callback. A short abandon (under the short-abandon threshold)
# is a misdial or a change of mind and stays out, as it stays out of the abandon rate
# (docs/asterisk.md). exit_timeout: the queue timed out and the caller hung up during the
# callback offer without choosing it, after waiting the longest of all. cut_off: the
# caller was waiting when Asterisk died (api/events/restarts.py): our fault, not theirs. A
# call that ended with a callback request is listed as that request instead.
ABANDONED = ("abandoned", "exit_timeout", "cut_off")
# Older abandoned calls are no longer called back unasked.
ABANDONED_HORIZON = timedelta(days=7)
_SCAN = 5000
# Integer ids stay within a 32-bit column (PostgreSQL rejects a larger literal).
ID_PATTERN = r"^[rc][1-9][0-9]{0,8}$"


def dialable(number: str) -> bool:
    """Whether the trunk can dial ``number`` (the phone-number kind of asterisk_values)."""
    try:
        values.phone_number(number)
    except values.UnsafeValue:
        return False
    return True


def usable_line(line: str) -> bool:
    """Whether ``line`` can be a callback's Caller ID (the line-kind of asterisk_values)."""
    try:
        return values.line(line) == line
    except values.UnsafeValue:
        return False


class CallbackItem(BaseModel):
    """One citizen to call back, from an IVR request or an abandoned call."""

    id: str
    source: Literal["request", "abandoned"]
    number: str
    ticket: str | None
    line: str | None
    queue_entered_at: datetime
    requested_at: datetime | None = None
    request_id: str | None = None
    uniqueid: str | None = None
    attempts: int = 0
    outcome: str | None = None  # of the latest attempt: reached, no_answer or busy
    claimed_by: str | None = None  # the officer calling back right now
    dialled_at: datetime | None = None
    # Virtual hold (requests only): in_queue (a placeholder keeps the citizen's place),
    # scheduled (the next attempt at next_attempt_at), sms_due/sms_sending/sms_sent (every
    # attempt missed: the SMS), reached; None for abandoned calls.
    hold: str | None = None
    next_attempt_at: datetime | None = None
    hold_failures: int = 0
    sms_error: str | None = None


def not_reached_since(number: Any, since: Any) -> Any:
    """SQL: nobody has spoken to ``number`` since ``since`` (no answered call, callback).

    A virtual-hold placeholder answered by an officer is not the citizen reached: its
    call's caller is the citizen's number, but only its dial outcome says."""
    later = aliased(Call)
    answered = (
        select(later.id)
        .where(
            later.caller == number,
            later.outcome == "answered",
            col(later.answered_at) > since,
            ~col(later.linkedid).startswith(PLACEHOLDER_PREFIX),
        )
        .exists()
    )
    called_back = (
        select(CallbackDial.callback_id)
        .where(
            CallbackDial.number == number,
            col(CallbackDial.outcome).in_(CLOSED),
            col(CallbackDial.outcome_at) >= since,
        )
        .exists()
    )
    return and_(~answered, ~called_back)


def _request_item(row: CallbackRequest) -> CallbackItem:
    return CallbackItem(
        id=f"r{row.id}",
        source="request",
        number=row.number,
        ticket=row.ticket,
        line=row.line or None,
        queue_entered_at=as_utc(row.queue_entered_at),
        requested_at=as_utc(row.requested_at),
        request_id=row.request_id,
        uniqueid=row.uniqueid,
    )


def _call_item(call: Call) -> CallbackItem:
    return CallbackItem(
        id=f"c{call.id}",
        source="abandoned",
        number=call.caller or "",
        ticket=call.ticket,
        line=call.line,
        queue_entered_at=as_utc(call.queue_entered_at or call.arrived_at or utc_now()),
        uniqueid=call.linkedid,
    )


def _with_dial_state(session: Session, items: list[CallbackItem]) -> list[CallbackItem]:
    ids = [item.id for item in items]
    rows = {
        row.callback_id: row
        for row in session.exec(
            select(CallbackDial).where(col(CallbackDial.callback_id).in_(ids))
        ).all()
    }
    holds = holds_of(session, ids)
    for item in items:
        hold = holds.get(item.id)
        if hold is not None:
            item.hold = hold_state(hold)
            item.next_attempt_at = as_utc(hold.next_at) if item.hold == SCHEDULED else None
            item.hold_failures = hold.failures
            item.sms_error = hold.sms_error
        row = rows.get(item.id)
        if row is not None:
            item.attempts = row.attempts
            item.outcome = row.outcome
            item.claimed_by = live_claim(row)
            item.dialled_at = as_utc(row.dialled_at) if row.dialled_at else None
    return items


def list_callbacks(
    session: Session, *, number: str | None = None, limit: int = 100
) -> list[CallbackItem]:
    """Citizens not yet reached, oldest queue entry first."""
    settle(session)
    requests = select(CallbackRequest).where(
        not_reached_since(CallbackRequest.number, CallbackRequest.queue_entered_at)
    )
    calls = select(Call).where(
        col(Call.outcome).in_(ABANDONED),
        col(Call.caller).is_not(None),
        col(Call.queue_entered_at) >= utc_now() - ABANDONED_HORIZON,
        # A placeholder that left the queue unanswered is the dialer's, not a caller's.
        ~col(Call.linkedid).startswith(PLACEHOLDER_PREFIX),
        not_reached_since(Call.caller, Call.queue_entered_at),
    )
    if number is not None:
        requests = requests.where(CallbackRequest.number == national(number))
        calls = calls.where(Call.caller == national(number))
    items = [
        _request_item(row)
        for row in session.exec(
            requests.order_by(col(CallbackRequest.queue_entered_at)).limit(limit)
        ).all()
    ]
    # One entry per citizen: their oldest abandoned call stands for the later ones.
    seen: set[str] = set()
    for call in session.exec(calls.order_by(col(Call.queue_entered_at)).limit(_SCAN)).all():
        if call.caller and dialable(call.caller) and call.caller not in seen:
            seen.add(call.caller)
            items.append(_call_item(call))
    items.sort(key=lambda item: (item.queue_entered_at, item.id))
    return _with_dial_state(session, items[:limit])


def get_callback(session: Session, callback_id: str) -> CallbackItem:
    """One callback by id, reached or not; NotFound for an unknown id."""
    kind, key = callback_id[:1], int(callback_id[1:])
    settle(session, [callback_id])
    item: CallbackItem | None = None
    if kind == "r":
        request = session.get(CallbackRequest, key)
        item = _request_item(request) if request is not None else None
    else:
        call = session.get(Call, key)
        if call is not None and call.outcome in ABANDONED and call.caller:
            item = _call_item(call)
    if item is None:
        raise NotFound(f"no callback {callback_id}", "callback_not_found")
    return _with_dial_state(session, [item])[0]


def recent_outcomes(session: Session, since: datetime, limit: int = 10) -> list[CallbackDial]:
    """The latest attempts' recorded outcomes since ``since``, newest first (reached ones
    leave the list to call back; this is where an officer sees how they went)."""
    settle(session)
    return list(
        session.exec(
            select(CallbackDial)
            .where(col(CallbackDial.outcome_at) >= since)
            .order_by(col(CallbackDial.outcome_at).desc())
            .limit(limit)
        ).all()
    )
