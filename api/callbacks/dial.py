"""Dialling a callback: one officer's claim, the attempts, and each attempt's outcome.

The API rings the officer's phone with a synchronous AMI Originate; once it answers,
the dialplan context ``[callback]`` (asterisk_conf/extensions.conf) dials the citizen
on the trunk and, when the officer's leg hangs up, reports ``DIALSTATUS`` in the
UserEvent ``LaporCallbackDial``. That event reaches ``ami_event`` like every other one
(collector, disk buffer, ``POST /events``: at least once, stored once), keyed by the
linkedid the API chose for the call (Originate ``ChannelId``). ``settle`` turns it
into the recorded outcome; every read of a callback settles first, so nothing extra
has to run and a collector outage only delays the outcome.

Claims are one conditional UPDATE, so two officers racing for the same callback get
one winner whatever the database. A claim ends with the attempt's outcome, or after
``CLAIM_TTL`` if no outcome ever arrives.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from api.core.clock import as_utc, utc_now
from api.core.db import conflict_insert
from api.core.errors import Conflict
from api.events.models import AmiEvent
from api.events.pushes import CALLBACKS_TOPIC
from api.live.publish import publish

TZ_DATETIME = sa.DateTime(timezone=True)
DIAL_EVENT = "LaporCallbackDial"
REACHED = "reached"
# Asterisk's DIALSTATUS; anything else (NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL…) means
# the citizen was not reached.
OUTCOMES = {"ANSWER": REACHED, "BUSY": "busy"}
NO_ANSWER = "no_answer"
# Outcomes an officer records by hand; a wrong number closes the callback like a reached one.
WRONG_NUMBER = "wrong_number"
CLOSED = (REACHED, WRONG_NUMBER)
# Longer than a callback conversation usually lasts: the claim only guards against a
# second officer while the outcome is unknown.
CLAIM_TTL = timedelta(minutes=30)
# Attempts whose outcome never arrived stop being looked up after this.
SETTLE_HORIZON = timedelta(days=1)


class CallbackDial(SQLModel, table=True):
    """Dial state of one callback item (``r<id>`` request or ``c<id>`` abandoned call)."""

    __tablename__ = "callback_dial"

    callback_id: str = Field(primary_key=True, max_length=24)
    number: str = Field(max_length=32, index=True)
    attempts: int = 0
    outcome: str | None = Field(default=None, max_length=16)
    outcome_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_until: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    # The officer leg's uniqueid of the latest attempt (= the call's linkedid).
    channel_id: str | None = Field(default=None, max_length=64, index=True)
    dialled_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)


def outcome_of(dial_status: str) -> str:
    return OUTCOMES.get(dial_status.strip().upper(), NO_ANSWER)


def claim(
    session: Session, *, callback_id: str, number: str, agent: str, prefix: str = "cb-"
) -> str:
    """Take the callback for ``agent``; returns the new attempt's channel id
    (``prefix``: ``vh-`` for the dialer's placeholders, api/events/placeholders.py).

    Raises Conflict if another claim is live or the citizen was already reached.
    """
    stmt = conflict_insert(session, CallbackDial).on_conflict_do_nothing()
    session.connection().execute(stmt, [{"callback_id": callback_id, "number": number}])
    session.commit()
    now = utc_now()
    channel_id = f"{prefix}{callback_id}-{secrets.token_hex(6)}"
    taken = session.connection().execute(
        update(CallbackDial)
        .where(
            col(CallbackDial.callback_id) == callback_id,
            or_(col(CallbackDial.outcome).is_(None), col(CallbackDial.outcome) != REACHED),
            or_(col(CallbackDial.claimed_by).is_(None), col(CallbackDial.claimed_until) < now),
        )
        .values(
            claimed_by=agent,
            claimed_until=now + CLAIM_TTL,
            channel_id=channel_id,
            dialled_at=now,
            outcome=None,
            outcome_at=None,
        )
    )
    session.commit()
    if taken.rowcount == 1:
        return channel_id
    row = session.get(CallbackDial, callback_id)
    if row is not None and row.outcome == REACHED:
        raise Conflict("this citizen was already reached", "already_reached")
    holder = row.claimed_by if row is not None else None
    raise Conflict(f"{holder or 'another officer'} is already calling back", "already_claimed")


def _attempt(session: Session, callback_id: str, channel_id: str, **values: Any) -> None:
    session.connection().execute(
        update(CallbackDial)
        .where(
            col(CallbackDial.callback_id) == callback_id,
            col(CallbackDial.channel_id) == channel_id,
        )
        .values(**values)
    )
    session.commit()


def dialled(session: Session, callback_id: str, channel_id: str) -> None:
    """The officer answered and the citizen is being dialled: one more attempt."""
    _attempt(session, callback_id, channel_id, attempts=CallbackDial.attempts + 1)


def release(session: Session, callback_id: str, channel_id: str) -> None:
    """The officer's phone never answered: no attempt, and the callback is free again."""
    _attempt(session, callback_id, channel_id, claimed_by=None, claimed_until=None)


def set_manual_outcome(
    session: Session, callback_id: str, number: str, outcome: str, agent: str
) -> None:
    """Record an officer's outcome (the callback's claim, if any, ends with it)."""
    stmt = conflict_insert(session, CallbackDial).on_conflict_do_nothing()
    session.connection().execute(stmt, [{"callback_id": callback_id, "number": number}])
    session.connection().execute(
        update(CallbackDial)
        .where(col(CallbackDial.callback_id) == callback_id)
        .values(outcome=outcome, outcome_at=utc_now(), claimed_by=None, claimed_until=None)
    )
    publish(session, CALLBACKS_TOPIC, "callback", {"callback_id": callback_id, "by": agent})
    session.commit()


def settle(session: Session, callback_ids: Iterable[str] | None = None) -> None:
    """Record the outcome of every pending attempt whose LaporCallbackDial event is stored."""
    query = select(CallbackDial).where(
        col(CallbackDial.outcome).is_(None),
        col(CallbackDial.channel_id).is_not(None),
        col(CallbackDial.dialled_at) >= utc_now() - SETTLE_HORIZON,
    )
    if callback_ids is not None:
        query = query.where(col(CallbackDial.callback_id).in_(list(callback_ids)))
    pending = {row.channel_id: row for row in session.exec(query).all()}
    if not pending:
        return
    events = session.exec(
        select(AmiEvent).where(
            col(AmiEvent.linkedid).in_(list(pending)), AmiEvent.name == "UserEvent"
        )
    ).all()
    for event in events:
        row = pending.get(event.linkedid)
        fields = event.fields
        if (
            row is None
            or fields.get("UserEvent") != DIAL_EVENT
            or fields.get("Callback") != row.callback_id
        ):
            continue
        session.connection().execute(
            update(CallbackDial)
            .where(
                col(CallbackDial.callback_id) == row.callback_id,
                col(CallbackDial.channel_id) == event.linkedid,
                col(CallbackDial.outcome).is_(None),
            )
            .values(
                outcome=outcome_of(str(fields.get("DialStatus", ""))),
                outcome_at=as_utc(event.at),
                claimed_by=None,
                claimed_until=None,
            )
        )
    session.commit()


def live_claim(row: CallbackDial | None) -> str | None:
    """Who holds the callback now (None once the claim ended or expired)."""
    if row is None or row.claimed_by is None or row.claimed_until is None:
        return None
    return row.claimed_by if as_utc(row.claimed_until) > utc_now() else None
