"""The ``supervision_log`` table: every listen, whisper and barge, and how it went."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from api.core.clock import utc_now

TZ_DATETIME = sa.DateTime(timezone=True)
ERROR_CHARS = 300


# An officer's username (their queue member name), as a supervisor names them.
OFFICER_PATTERN = r"^[A-Za-z0-9_.@:-]+$"


class Mode(StrEnum):
    listen = "listen"  # the supervisor hears both; nobody hears the supervisor
    whisper = "whisper"  # only the officer hears the supervisor
    barge = "barge"  # the supervisor joins: both hear


class SupervisionLog(SQLModel, table=True):
    __tablename__ = "supervision_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=TZ_DATETIME, index=True)
    supervisor: str = Field(max_length=128)
    officer: str = Field(max_length=128)
    mode: str = Field(max_length=16)
    # The officer's call (its linkedid) when it started, and the supervisor's channel.
    linkedid: str | None = Field(default=None, max_length=64)
    channel_id: str = Field(max_length=64)
    # connected (the supervisor's phone answered and joined), or failed with the reason.
    outcome: str = Field(max_length=16)
    error: str | None = Field(default=None, max_length=ERROR_CHARS)


def started(
    session: Session, *, supervisor: str, officer: str, mode: Mode, linkedid: str | None
) -> SupervisionLog:
    """Log the attempt before the supervisor's phone rings: a crash still leaves a trace."""
    entry = SupervisionLog(
        at=utc_now(),
        supervisor=supervisor,
        officer=officer,
        mode=mode,
        linkedid=linkedid,
        channel_id=f"spy-{secrets.token_hex(8)}",
        outcome="ringing",
    )
    session.add(entry)
    session.commit()
    session.refresh(entry)
    return entry


def ended(session: Session, entry: SupervisionLog, error: str | None) -> None:
    entry.outcome = "failed" if error else "connected"
    entry.error = error[:ERROR_CHARS] if error else None
    session.add(entry)
    session.commit()


def entries(session: Session, limit: int) -> list[SupervisionLog]:
    newest = (col(SupervisionLog.at).desc(), col(SupervisionLog.id).desc())
    return list(session.exec(select(SupervisionLog).order_by(*newest).limit(limit)).all())
