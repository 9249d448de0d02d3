"""Citizens who replied STOP: no SMS about their complaints' status until they send MULAI.

Kept by the number's national form (api/core/numbers.py), so 0812…, 62812… and +62812…
are one citizen. Not purged by retention: it is the citizen's own standing request.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Session, SQLModel

from api.core.db import conflict_insert
from api.core.numbers import national


class SmsOptOut(SQLModel, table=True):
    __tablename__ = "sms_opt_out"

    number: str = Field(primary_key=True, max_length=32)
    since: datetime


def opted_out(session: Session, number: str) -> bool:
    return session.get(SmsOptOut, national(number)) is not None


def set_status_sms(session: Session, number: str, *, on: bool, now: datetime) -> None:
    """Start (``on``) or stop the status SMS to ``number``; idempotent; commits."""
    key = national(number)
    if on:
        row = session.get(SmsOptOut, key)
        if row is not None:
            session.delete(row)
    else:
        insert = conflict_insert(session, SmsOptOut).values(number=key, since=now)
        session.execute(insert.on_conflict_do_nothing())
    session.commit()
