"""The ``live_event`` table: the durable log every replica's hub reads from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

TZ_DATETIME = sa.DateTime(timezone=True)
# BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid (and AUTOINCREMENT
# is what keeps an id from being used twice once old rows are deleted: a browser's
# Last-Event-ID must never point at a later, different event).
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class LiveEvent(SQLModel, table=True):
    """One pushed event; ``id`` is the SSE event id (ascending in commit order)."""

    __tablename__ = "live_event"
    __table_args__ = (
        sa.Index("ix_live_event_topic_id", "topic", "id"),
        sa.Index("ix_live_event_at", "at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, sa_type=EVENT_ID, primary_key=True)
    topic: str = Field(max_length=96)
    kind: str = Field(max_length=32)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    at: datetime = Field(sa_type=TZ_DATETIME)
