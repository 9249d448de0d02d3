"""The audit table of recording playbacks and downloads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

TZ_DATETIME = sa.DateTime(timezone=True)


class RecordingKind(StrEnum):
    complaint = "complaint"  # the citizen's complaint, recorded by the IVR
    conversation = "conversation"  # the officer-citizen conversation (MixMonitor)


class RecordingAccess(SQLModel, table=True):
    """One playback or download of a recording: who, when, which, through which route."""

    __tablename__ = "recording_access"
    __table_args__ = (sa.Index("ix_recording_access_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=TZ_DATETIME)
    username: str = Field(max_length=128)
    role: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    # The complaint's ticket, or the conversation's ``<node>/<linkedid>``.
    subject: str = Field(max_length=140)
    file: str = Field(max_length=128)
    route: str = Field(max_length=200)


class BlocklistAction(StrEnum):
    block = "block"
    unblock = "unblock"


class BlocklistChange(SQLModel, table=True):
    """One block or unblock of a number: who, when, and the entry as it was."""

    __tablename__ = "blocklist_change"
    __table_args__ = (sa.Index("ix_blocklist_change_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=TZ_DATETIME)
    username: str = Field(max_length=128)
    role: str = Field(max_length=16)
    action: str = Field(max_length=16)
    number: str = Field(max_length=21)
    reason: str = Field(max_length=200)
    until: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
