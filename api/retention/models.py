"""Retention's own tables: the run log, the files to delete, the raw-event watermark and
the audit of citizens' requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.core.clock import utc_now
from api.events.models import TZ_DATETIME


class RetentionRun(SQLModel, table=True):
    """One purge: when, by whom, up to which instants, and how many of each it purged."""

    __tablename__ = "retention_run"

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(max_length=16)  # schedule | cli
    runner: str = Field(max_length=100)
    started_at: datetime = Field(sa_type=TZ_DATETIME)
    finished_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    numbers_before: datetime = Field(sa_type=TZ_DATETIME)
    recordings_before: datetime = Field(sa_type=TZ_DATETIME)
    # Rows anonymised or deleted, by holder name; "files" counts recordings removed.
    counts: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    error: str | None = Field(default=None, max_length=500)


class RetentionFile(SQLModel, table=True):
    """A recording to delete, queued in the transaction that stopped pointing at it: the
    file goes only after that commit, and a crash in between leaves it queued here."""

    __tablename__ = "retention_file"

    id: int | None = Field(default=None, primary_key=True)
    # The file's name inside the recordings folder (never a path).
    name: str = Field(max_length=255)
    queued_at: datetime = Field(default_factory=utc_now, sa_type=TZ_DATETIME)


class RetentionMark(SQLModel, table=True):
    """How far a holder without a "still personal" test (raw events) has been scrubbed:
    rows at or before (at, key) are done. Moved in the same transaction as each batch."""

    __tablename__ = "retention_mark"

    holder: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_type=TZ_DATETIME)
    key: str = Field(max_length=120)


class CitizenRequest(SQLModel, table=True):
    """The audit of an export or erasure of one citizen's data."""

    __tablename__ = "citizen_request"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, sa_type=TZ_DATETIME, index=True)
    actor: str = Field(max_length=100)
    role: str = Field(max_length=20)
    action: str = Field(max_length=16)  # export | erase
    # Masked: the audit must not become another copy of the number.
    number: str = Field(max_length=32)
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
