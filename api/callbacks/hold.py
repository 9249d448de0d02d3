"""The virtual-hold dialer's state of each callback request (api/callbacks/vhold.py)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

TZ_DATETIME = sa.DateTime(timezone=True)
# finished: the citizen was reached (or an officer closed it), or the SMS went out.
REACHED = "reached"
SMS_DUE = "sms_due"
SMS_SENDING = "sms_sending"
SMS_SENT = "sms_sent"
# What the console shows of a callback the dialer has.
IN_QUEUE = "in_queue"
SCHEDULED = "scheduled"


class CallbackHold(SQLModel, table=True):
    """The dialer's state of one callback request (``r<id>``)."""

    __tablename__ = "callback_hold"

    callback_id: str = Field(primary_key=True, max_length=24)
    number: str = Field(max_length=32)
    # The linkedid of the placeholder in the queue now (None between placeholders).
    placeholder: str | None = Field(default=None, max_length=64, index=True)
    placed_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    # Attempts that rang the citizen without reaching them.
    failures: int = 0
    next_at: datetime = Field(sa_type=TZ_DATETIME)
    finished: str | None = Field(default=None, max_length=16)
    finished_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    sms_error: str | None = Field(default=None, max_length=200)


def hold_state(row: CallbackHold | None) -> str | None:
    """The console's word for a callback the dialer has: in the queue, waiting for the
    next attempt, or its final state; None when the dialer never had it."""
    if row is None:
        return None
    if row.finished is not None:
        return row.finished
    return IN_QUEUE if row.placeholder else SCHEDULED


def holds_of(session: Session, callback_ids: list[str]) -> dict[str, CallbackHold]:
    rows = session.exec(
        select(CallbackHold).where(col(CallbackHold.callback_id).in_(callback_ids))
    ).all()
    return {row.callback_id: row for row in rows}
