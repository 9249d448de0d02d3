"""Tables for raw events, derived calls, agent state changes and hourly rollups.

Raw events are kept (``ami_event``) so a call's row can always be derived again from
everything known about it: that is what makes out-of-order and duplicate delivery safe.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

TZ_DATETIME = sa.DateTime(timezone=True)


def text_widths(model: type[SQLModel]) -> dict[str, int]:
    """The width of each of a table's length-limited text columns, by column name."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    # sqlmodel's AutoString is a TypeDecorator: it passes ``length`` on from its String.
    lengths = {column.name: getattr(column.type, "length", None) for column in table.columns}
    return {name: length for name, length in lengths.items() if isinstance(length, int)}


def fit(value: str | None, width: int) -> str | None:
    """``value`` cut to ``width`` characters: text from outside (a caller's name from the
    carrier, a pause reason) can be any length, and PostgreSQL would refuse the whole batch."""
    return value[:width] if value is not None and len(value) > width else value


class AmiEvent(SQLModel, table=True):
    """One event as the collector delivered it (queue_log lines are in ``call.queue_log``)."""

    __tablename__ = "ami_event"
    # linkedid first (see migration 0012): looked up by a list of them on one node.
    # (at, id): the retention purge walks old events in that order (api/retention).
    __table_args__ = (
        sa.Index("ix_ami_event_call", "linkedid", "node"),
        sa.Index("ix_ami_event_at", "at", "id"),
    )

    id: str = Field(primary_key=True, max_length=120)
    node: str = Field(max_length=64)
    name: str = Field(max_length=64)
    # When the event happened (Asterisk's Timestamp header, or received_at without it).
    at: datetime = Field(sa_type=TZ_DATETIME)
    received_at: datetime = Field(sa_type=TZ_DATETIME)
    linkedid: str | None = Field(default=None, max_length=64)
    fields: dict[str, Any] = Field(sa_type=sa.JSON)


class Call(SQLModel, table=True):
    """One citizen's call on one node, derived from its events."""

    __tablename__ = "call"
    __table_args__ = (
        sa.UniqueConstraint("linkedid", "node", name="uq_call_node_linkedid"),
        sa.Index("ix_call_queue_entered_at", "queue_entered_at"),
        # The live view: did this officer's call end since the node's queue snapshot?
        sa.Index("ix_call_agent_ended_at", "agent", "ended_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    node: str = Field(max_length=64)
    linkedid: str = Field(max_length=64)
    caller: str | None = Field(default=None, max_length=64)
    caller_name: str | None = Field(default=None, max_length=128)
    line: str | None = Field(default=None, max_length=32)
    queue: str | None = Field(default=None, max_length=64)
    position: int | None = None
    arrived_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    ivr_ended_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    queue_entered_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    answered_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    ended_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    # Seconds, as Asterisk counts them (HoldTime/TalkTime, queue_log holdtime/calltime).
    hold_seconds: int | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    agent: str | None = Field(default=None, max_length=128)
    category: str | None = Field(default=None, max_length=32)
    ticket: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=24)
    # Queued ahead of everyone else (an emergency: agi_scripts/urgent.py); the IVR's
    # LaporIvrDone UserEvent says so (queue_log does not know a caller's priority).
    urgent: bool = False
    # The call's queue_log lines, newline-separated, each once (by its text), in the order
    # first seen: the import's evidence, merged with AMI events whenever the call is
    # derived again. Kept on the call row rather than a row per line, which capped a bare
    # COPY at about 117 000 lines/s.
    queue_log: str | None = Field(default=None, sa_type=sa.Text)


class AgentEvent(SQLModel, table=True):
    """A login, logout, pause or unpause of a queue member (agent = member name).

    Unique on (node, agent, queue, kind, at): the same change seen through AMI and through
    queue_log (reconcile) is stored once. ``at`` is whole seconds, like queue_log.
    """

    __tablename__ = "agent_event"
    __table_args__ = (
        sa.UniqueConstraint("node", "agent", "queue", "kind", "at", name="uq_agent_event"),
        sa.Index("ix_agent_event_at", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    node: str = Field(max_length=64)
    agent: str = Field(max_length=128)
    queue: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # login | logout | pause | unpause
    at: datetime = Field(sa_type=TZ_DATETIME)
    reason: str | None = Field(default=None, max_length=128)


class AgentRing(SQLModel, table=True):
    """The last ring attempt seen for each agent (for the live view's "ringing" state).

    Updated on ingest by AgentCalled (ringing) and AgentConnect / AgentRingNoAnswer (not
    ringing); an older event never overwrites a newer one, so the order of arrival does
    not matter.
    """

    __tablename__ = "agent_ring"

    node: str = Field(primary_key=True, max_length=64)
    agent: str = Field(primary_key=True, max_length=128)
    linkedid: str | None = Field(default=None, max_length=64)
    ringing: bool = False
    at: datetime = Field(sa_type=TZ_DATETIME)


class QueueSnapshot(SQLModel, table=True):
    """The latest QueueStatus answer of each node (the collector's ``LaporQueueSnapshot``,
    taken at every AMI (re)connect): the live view of a node is this snapshot plus every
    event from ``at`` on. A newer snapshot replaces an older one, whatever the order of
    arrival; the event itself stays in ``ami_event`` too.
    """

    __tablename__ = "queue_snapshot"

    node: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(sa_type=TZ_DATETIME)
    event_id: str = Field(max_length=120)
    queues: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    members: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    entries: list[dict[str, Any]] = Field(sa_type=sa.JSON)


class CallHourly(SQLModel, table=True):
    """Per-hour KPI counters (hour of queue entry, UTC), rebuilt for an hour on ingest.

    Asia/Jakarta is a whole-hour offset from UTC, so hours add up to Jakarta days exactly.
    Thresholds are the API settings' defaults; other thresholds are computed from calls.
    """

    __tablename__ = "call_hourly"

    hour: datetime = Field(primary_key=True, sa_type=TZ_DATETIME)
    queue: str = Field(primary_key=True, max_length=64)
    category: str = Field(primary_key=True, max_length=32)
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exit_timeout: int = 0
    callback_requested: int = 0
    answered_in_sl: int = 0
    abandoned_in_sl: int = 0
    hold_sum: int = 0
    talk_sum: int = 0
    max_wait: int = 0
    completed: int = 0  # answered calls whose talk has ended (AHT's denominator)
    urgent: int = 0  # calls queued as urgent (call.urgent)


class CallRecording(SQLModel, table=True):
    """A recorded officer-citizen conversation (the dialplan's ``LaporRecording`` UserEvent,
    sent once an officer took the call): the mixed file; each party's own file is named
    after it (``recording_files``). The call's ticket and officer are on its ``call`` row.
    """

    __tablename__ = "call_recording"

    node: str = Field(primary_key=True, max_length=64)
    linkedid: str = Field(primary_key=True, max_length=64)
    file: str = Field(max_length=96)
    agent: str | None = Field(default=None, max_length=128)
    recorded_at: datetime = Field(sa_type=TZ_DATETIME)
