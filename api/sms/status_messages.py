"""SMS to the citizen when their complaint moves: verified, followed up by a unit, closed.

Durable: ``enqueue`` adds the message's row in the status change's own transaction, so a
committed change always has its SMS and a rolled-back one has none; the row's unique
``history_id`` (the change's audit row) makes it one SMS per change. The sender
(status_sender.py) takes a row with one conditional UPDATE (due -> ``sending``), so of
several workers or replicas exactly one sends it; a row left ``sending`` by a process that
died between taking and recording it is taken again after LEASE (the one case that may
send twice: a death after the gateway took the SMS and before the row says so).

A failed attempt is retried after each of RETRY_DELAYS, then the row is ``failed``. A
number that replied STOP (opt_out.py), or that can't take an SMS, gets its row all the
same, ``skipped`` with the reason: what the city would have said is kept and shown.

The closing note is cut so the whole SMS takes at most MAX_SEGMENTS segments: two
concatenated segments (306 Latin characters, 134 in UCS-2) are reassembled by every
phone and gateway, hold a usual closing note whole, cost the city two SMS at most per
closing, and stay inside the 1 KB AMI line that carries them base64-encoded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, update
from sqlmodel import Field, Session, SQLModel, col, or_, select

import asterisk_values as values
from api.complaints.models import Complaint, ComplaintHistory
from api.complaints.workflow import ComplaintStatus
from api.core.city_units import city_units
from api.core.errors import Conflict, NotFound
from api.core.numbers import national
from api.sms.commands import reply
from api.sms.opt_out import opted_out
from api.sms.segments import fitted

MAX_SEGMENTS = 2
LEASE = timedelta(minutes=5)
# After the 1st, 2nd, … failed attempt; five attempts over about 80 minutes in all.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
ERROR_CHARS = 500
ANNOUNCED = (ComplaintStatus.diverifikasi, ComplaintStatus.ditindaklanjuti, ComplaintStatus.selesai)


class SmsState(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class SkipReason(StrEnum):
    opted_out = "opted_out"
    no_mobile_number = "no_mobile_number"


class StatusSms(SQLModel, table=True):
    __tablename__ = "status_sms"

    id: int | None = Field(default=None, primary_key=True)
    history_id: int = Field(foreign_key="complaint_history.id", unique=True)
    ticket: str = Field(max_length=8, index=True)
    to_status: str = Field(max_length=16)
    # The national form (0812…), or the caller's number as stored when it is no mobile.
    number: str = Field(max_length=32)
    # The line the citizen called or texted: the SMS comes from it.
    line: str = Field(max_length=32)
    text: str = Field(max_length=1000)
    state: str = Field(max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=32)
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=ERROR_CHARS)
    created_at: datetime
    sent_at: datetime | None = None


def status_text(complaint: Complaint, to: ComplaintStatus, note: str) -> str:
    """The SMS for ``complaint`` moving to ``to`` (from the catalog; the note cut to fit)."""
    unit = city_units().get(complaint.unit or "", complaint.unit or "")
    # The note is put in last, by replace: braces in it are text, not placeholders.
    filled = reply(f"status_{to.value}", ticket=complaint.ticket, unit=unit, note="{note}")
    return fitted(filled, note, MAX_SEGMENTS)


def mobile(number: str) -> str | None:
    """``number`` in national form if it can take an SMS (an Indonesian mobile), else None."""
    local = national(number)
    try:
        values.phone_number(local)
    except values.UnsafeValue:
        return None
    return local if local.startswith("08") else None


def enqueue(
    session: Session, complaint: Complaint, entry: ComplaintHistory, now: datetime
) -> StatusSms | None:
    """Add the SMS for the status change ``entry`` to the open transaction (None when the
    change is not one the citizen is told of)."""
    to = ComplaintStatus(entry.to_status)
    if to not in ANNOUNCED:
        return None
    session.flush()  # the audit row's id
    assert entry.id is not None
    number = mobile(complaint.caller_number)
    reason = None
    if number is None:
        reason = SkipReason.no_mobile_number
    elif opted_out(session, number):
        reason = SkipReason.opted_out
    message = StatusSms(
        history_id=entry.id,
        ticket=complaint.ticket,
        to_status=to.value,
        number=number or complaint.caller_number,
        line=complaint.line,
        text=status_text(complaint, to, entry.note),
        state=SmsState.pending if reason is None else SmsState.skipped,
        reason=reason,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    return message


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        (col(StatusSms.state) == SmsState.pending) & (col(StatusSms.next_attempt_at) <= now),
        (col(StatusSms.state) == SmsState.sending) & (col(StatusSms.claimed_at) < now - LEASE),
    )


def due(session: Session, now: datetime, limit: int = 50) -> list[int]:
    """Ids of messages to send now, oldest first."""
    query = select(StatusSms.id).where(_claimable(now)).order_by(col(StatusSms.id)).limit(limit)
    return [row_id for row_id in session.exec(query).all() if row_id is not None]


def claim(session: Session, row_id: int, runner: str, now: datetime) -> StatusSms | None:
    """Make message ``row_id`` this runner's to send; None if another took it first."""
    taken = session.connection().execute(
        update(StatusSms)
        .where(col(StatusSms.id) == row_id, _claimable(now))
        .values(state=SmsState.sending, claimed_by=runner, claimed_at=now)
    )
    session.commit()
    return session.get(StatusSms, row_id) if taken.rowcount else None


def record_attempt(
    session: Session, message: StatusSms, runner: str, error: str | None, now: datetime
) -> None:
    """Count an attempt: ``sent``; or, with ``error``, ``pending`` until its next retry,
    ``failed`` after the last."""
    attempts = message.attempts + 1
    changes: dict[str, object] = {"attempts": attempts, "claimed_by": None, "claimed_at": None}
    if error is None:
        changes |= {"state": SmsState.sent, "sent_at": now, "last_error": None}
    elif attempts > len(RETRY_DELAYS):
        changes |= {"state": SmsState.failed, "last_error": error[:ERROR_CHARS]}
    else:
        retry_at = now + RETRY_DELAYS[attempts - 1]
        changes |= {
            "state": SmsState.pending,
            "next_attempt_at": retry_at,
            "last_error": error[:ERROR_CHARS],
        }
    _finish(session, message, runner, changes)


def skip(session: Session, message: StatusSms, runner: str, reason: SkipReason) -> None:
    _finish(session, message, runner, {"state": SmsState.skipped, "reason": reason})


def _finish(session: Session, message: StatusSms, runner: str, changes: dict[str, object]) -> None:
    # Only while still ours: a runner whose lease ran out must not undo its successor.
    session.connection().execute(
        update(StatusSms)
        .where(
            col(StatusSms.id) == message.id,
            col(StatusSms.state) == SmsState.sending,
            col(StatusSms.claimed_by) == runner,
        )
        .values(**changes)
    )
    session.commit()


def listed(
    session: Session, *, states: list[SmsState], ticket: str | None = None, limit: int = 200
) -> list[StatusSms]:
    """Messages in ``states`` (of one complaint if ``ticket``), newest first."""
    query = select(StatusSms).where(col(StatusSms.state).in_(states))
    if ticket is not None:
        query = query.where(StatusSms.ticket == ticket)
    return list(session.exec(query.order_by(col(StatusSms.id).desc()).limit(limit)).all())


def retry(session: Session, row_id: int, now: datetime) -> StatusSms:
    """Give a ``failed`` message one more attempt now (NotFound, or Conflict if not failed)."""
    message = session.get(StatusSms, row_id)
    if message is None:
        raise NotFound(f"no status SMS {row_id}")
    again = session.connection().execute(
        update(StatusSms)
        .where(col(StatusSms.id) == row_id, col(StatusSms.state) == SmsState.failed)
        .values(state=SmsState.pending, next_attempt_at=now)
    )
    session.commit()
    if not again.rowcount:
        raise Conflict(f"status SMS {row_id} is {message.state}, not failed", "not_failed")
    session.refresh(message)
    return message


def of_ticket(session: Session, ticket: str) -> list[StatusSms]:
    """Every status SMS of complaint ``ticket``, oldest first (its desk page)."""
    query = select(StatusSms).where(StatusSms.ticket == ticket).order_by(col(StatusSms.id))
    return list(session.exec(query).all())
