"""Idempotent ingest: store new events, derive their calls and agent changes, refresh rollups.

Duplicates (same event id) are skipped, so a batch delivered twice changes nothing. Each
affected call is derived again from *all* of its stored events, so the order in which
events arrive does not matter. On PostgreSQL, advisory locks serialise two batches that
touch the same call or hour; SQLite has a single writer anyway.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from api.events.derive import QUEUE_LOG, CallRow, Event, derive_call, event_time
from api.events.models import AgentEvent, AgentRing, AmiEvent, Call
from api.events.schemas import EventIn, IngestResult
from api.stats.aggregate import Thresholds, refresh_hours

_CHUNK = 500
CALL_FIELDS = [f.name for f in dataclass_fields(CallRow) if f.name != "extra"]
_MEMBER_EVENTS = {"QueueMemberAdded": "login", "QueueMemberRemoved": "logout"}
_MEMBER_VERBS = {
    "ADDMEMBER": "login",
    "REMOVEMEMBER": "logout",
    "PAUSE": "pause",
    "UNPAUSE": "unpause",
}


def utc(at: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes that were stored as UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def hour_of(at: datetime) -> datetime:
    return utc(at).replace(minute=0, second=0, microsecond=0)


def linkedid_of(name: str, fields: dict[str, Any]) -> str | None:
    if name == QUEUE_LOG:
        callid = fields.get("CallId") or ""
        return None if callid in {"", "NONE", "REALTIME"} else str(callid)
    return str(fields["Linkedid"]) if fields.get("Linkedid") else None


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _insert(session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING as one executemany (compiled once, pipelined).

    Measured: faster on psycopg than multi-row INSERTs, whose big statements it re-parses.
    """
    if rows:
        stmt = _dialect(session).insert(table).on_conflict_do_nothing(index_elements=keys)
        session.connection().execute(stmt, rows)


def agent_changes(event: dict[str, Any]) -> list[dict[str, Any]]:
    """Login/logout/pause/unpause rows a stored event row implies (none for most events)."""
    f, name = event["fields"], event["name"]
    if name != QUEUE_LOG and not name.startswith("QueueMember"):
        return []
    base = {"node": event["node"], "at": utc(event["at"]).replace(microsecond=0), "reason": None}
    if name == QUEUE_LOG:
        kind = _MEMBER_VERBS.get(str(f.get("Verb")))
        if kind is None or not f.get("Agent"):
            return []
        reason = f.get("Data1") or None if kind == "pause" else None
        return [
            {
                **base,
                "agent": f["Agent"],
                "queue": f.get("Queue", ""),
                "kind": kind,
                "reason": reason,
            }
        ]
    agent, queue = f.get("MemberName"), f.get("Queue", "")
    if not agent:
        return []
    rows: list[dict[str, Any]] = []
    if name in _MEMBER_EVENTS:
        rows.append({**base, "agent": agent, "queue": queue, "kind": _MEMBER_EVENTS[name]})
    paused = f.get("Paused") == "1"
    if name == "QueueMemberPause" or (name == "QueueMemberAdded" and paused):
        reason = (f.get("PausedReason") or f.get("Reason") or None) if paused else None
        kind = "pause" if paused else "unpause"
        rows.append({**base, "agent": agent, "queue": queue, "kind": kind, "reason": reason})
    return rows


_RING_EVENTS = {"AgentCalled": True, "AgentConnect": False, "AgentRingNoAnswer": False}


def update_rings(session: Session, events: list[dict[str, Any]]) -> None:
    """Keep each agent's latest ring state; an older event never overwrites a newer one."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        agent = e["fields"].get("MemberName")
        if e["name"] in _RING_EVENTS and agent:
            key = (e["node"], agent)
            row = {
                "node": e["node"],
                "agent": agent,
                "linkedid": e["linkedid"],
                "ringing": _RING_EVENTS[e["name"]],
                "at": e["at"],
            }
            if key not in latest or latest[key]["at"] <= row["at"]:
                latest[key] = row
    if not latest:
        return
    stmt = _dialect(session).insert(AgentRing)
    upsert = stmt.on_conflict_do_update(
        index_elements=["node", "agent"],
        set_={n: stmt.excluded[n] for n in ("linkedid", "ringing", "at")},
        where=col(AgentRing.at) <= stmt.excluded.at,
    )
    session.connection().execute(upsert, list(latest.values()))


def store_events(session: Session, events: Sequence[EventIn]) -> list[dict[str, Any]]:
    """Insert the events not stored yet; return their rows (duplicates are skipped)."""
    unique = {e.id: e for e in events}
    ids = list(unique)
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(AmiEvent.id).where(col(AmiEvent.id).in_(chunk))
        known.update(session.execute(query).scalars())
    new = [
        {
            "id": e.id,
            "node": e.node,
            "name": e.name,
            "at": utc(event_time(e.fields, e.received_at)),
            "received_at": utc(e.received_at),
            "linkedid": linkedid_of(e.name, e.fields),
            "fields": e.fields,
        }
        for e in unique.values()
        if e.id not in known
    ]
    # A concurrent batch may store one of these first; ON CONFLICT keeps that harmless.
    _insert(session, AmiEvent, new, ["id"])
    return new


def _lock_all(session: Session, space: int, keys: Iterable[int]) -> None:
    """Take PostgreSQL advisory locks for ``keys`` in ascending order (no deadlocks)."""
    ordered = sorted(set(keys))
    if ordered and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, k) FROM unnest(CAST(:keys AS int[])) AS k"),
            {"space": space, "keys": ordered},
        )


def _call_key(node: str, linkedid: str) -> int:
    return zlib.crc32(f"{node}\0{linkedid}".encode()) - 2**31


def _load(
    session: Session, calls: list[tuple[str, str]]
) -> tuple[dict[tuple[str, str], list[Event]], dict[tuple[str, str], datetime | None]]:
    """Every stored event of these calls, and each existing row's queue entry time."""
    events: dict[tuple[str, str], list[Event]] = defaultdict(list)
    entered: dict[tuple[str, str], datetime | None] = {}
    by_node: dict[str, list[str]] = defaultdict(list)
    for node, linkedid in calls:
        by_node[node].append(linkedid)
    for node, ids in by_node.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for linkedid, name, at, fields in session.execute(
                select(AmiEvent.linkedid, AmiEvent.name, AmiEvent.at, AmiEvent.fields).where(
                    AmiEvent.node == node, col(AmiEvent.linkedid).in_(chunk)
                )
            ):
                events[(node, linkedid)].append(Event(name, utc(at), fields))
            for linkedid, at in session.execute(
                select(Call.linkedid, Call.queue_entered_at).where(
                    Call.node == node, col(Call.linkedid).in_(chunk)
                )
            ):
                entered[(node, linkedid)] = at
    return events, entered


def _upsert_calls(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = _dialect(session).insert(Call)
    columns = [k for k in rows[0] if k not in ("node", "linkedid")]
    upsert = stmt.on_conflict_do_update(
        index_elements=["node", "linkedid"], set_={name: stmt.excluded[name] for name in columns}
    )
    session.connection().execute(upsert, rows)


def ingest(session: Session, events: Sequence[EventIn], thresholds: Thresholds) -> IngestResult:
    """Store a batch idempotently and bring calls, agent changes and rollups up to date."""
    new = store_events(session, events)
    _insert(
        session,
        AgentEvent,
        [row for event in new for row in agent_changes(event)],
        ["node", "agent", "queue", "kind", "at"],
    )
    update_rings(session, new)
    calls = sorted({(e["node"], e["linkedid"]) for e in new if e["linkedid"]})
    apply_calls(session, calls, thresholds)
    session.commit()
    return IngestResult(accepted=len(new), duplicates=len(events) - len(new))


def apply_calls(session: Session, calls: Iterable[tuple[str, str]], thresholds: Thresholds) -> None:
    """Derive these calls again from all their stored events; refresh the hours they touch."""
    keys = sorted(set(calls))
    if not keys:
        return
    _lock_all(session, 1, (_call_key(node, linkedid) for node, linkedid in keys))
    events, entered = _load(session, keys)
    hours = {hour_of(at) for at in entered.values() if at is not None}
    rows = []
    for node, linkedid in keys:
        call = derive_call(linkedid, events[(node, linkedid)], thresholds.short_abandon)
        derived = {name: getattr(call, name) for name in CALL_FIELDS}
        rows.append({"node": node, "linkedid": linkedid, **derived})
        if derived["queue_entered_at"] is not None:
            hours.add(hour_of(derived["queue_entered_at"]))
    _upsert_calls(session, rows)
    _lock_all(session, 2, (int(hour.timestamp()) // 3600 for hour in hours))
    refresh_hours(session, sorted(hours), thresholds)
