"""Idempotent ingest: store new events, derive their calls and agent changes, refresh rollups.

Duplicates (same event id) are skipped, so a batch delivered twice changes nothing. Each
affected call is derived again from *all* of its events, so the order in which events
arrive does not matter. On PostgreSQL, advisory locks serialise two batches that touch the
same call or hour (a batch locks its calls before reading them, so it sees every event a
concurrent batch stored); SQLite has a single writer anyway.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col

from api.core.clock import as_utc
from api.core.db import conflict_insert, is_postgres
from api.events.bulk import (
    CallKey,
    EventRow,
    Stored,
    insert_events,
    known_ids,
    load_calls,
    upsert_calls,
)
from api.events.call_log import log_ingest
from api.events.derive import QUEUE_LOG, CallRow, Event, derive_call, event_time
from api.events.derive_lines import line_event
from api.events.hourly import Thresholds, refresh_hours
from api.events.models import AgentEvent, AgentRing, Call, QueueSnapshot, fit, text_widths
from api.events.placeholders import call_of
from api.events.pushes import push_new
from api.events.recordings import store_recordings
from api.events.restarts import cut_off_rows
from api.events.schemas import QUEUE_SNAPSHOT, EventIn, IngestResult

__all__ = [
    "EventRow",
    "call_key",
    "call_values",
    "derive_stored",
    "hour_of",
    "ingest",
    "ingest_rows",
    "linkedid_of",
    "lock_all",
    "refresh_locked",
]

CALL_FIELDS = [f.name for f in dataclass_fields(CallRow) if f.name != "extra"]
_CALL_WIDTHS = text_widths(Call)
_CALL_TEXTS = [(i, _CALL_WIDTHS[n]) for i, n in enumerate(CALL_FIELDS) if n in _CALL_WIDTHS]
_AGENT_WIDTHS = text_widths(AgentEvent)
_LINKEDID_WIDTH = _CALL_WIDTHS["linkedid"]
_MEMBER_EVENTS = {"QueueMemberAdded": "login", "QueueMemberRemoved": "logout"}
_MEMBER_VERBS = {
    "ADDMEMBER": "login",
    "REMOVEMEMBER": "logout",
    "PAUSE": "pause",
    "UNPAUSE": "unpause",
}


_QUEUE_AGENT_EVENTS = frozenset(
    {"AgentCalled", "AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump"}
)


def hour_of(at: datetime) -> datetime:
    return as_utc(at).replace(minute=0, second=0, microsecond=0)


def linkedid_of(name: str, fields: dict[str, Any]) -> str | None:
    """The call an event belongs to; None for none, or for an id longer than Asterisk makes
    (the event is still stored)."""
    if name == QUEUE_LOG:
        callid = str(fields.get("CallId") or "")
        callid = "" if callid in {"NONE", "REALTIME"} else call_of(callid)
    else:
        callid = str(fields.get("Linkedid") or "")
        if not callid and name in _QUEUE_AGENT_EVENTS:
            # app_queue sends these without the caller's fields when the caller's channel
            # was gone before its stasis thread got to them (a hangup on a busy node);
            # the officer's leg (Dest*) belongs to the same call.
            callid = str(fields.get("DestLinkedid") or "")
    return callid if 0 < len(callid) <= _LINKEDID_WIDTH else None


def call_values(row: CallRow) -> list[Any]:
    """The row's ``CALL_FIELDS`` values, each text cut to its column's width."""
    values = [getattr(row, name) for name in CALL_FIELDS]
    for index, width in _CALL_TEXTS:
        values[index] = fit(values[index], width)
    return values


def _fit_agent(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("agent", "queue", "reason"):
        row[name] = fit(row[name], _AGENT_WIDTHS[name])
    return row


def _insert(session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT … ON CONFLICT DO NOTHING as one executemany (compiled once, pipelined).

    Measured: faster on psycopg than multi-row INSERTs, whose big statements it re-parses.
    """
    if rows:
        stmt = conflict_insert(session, table).on_conflict_do_nothing(index_elements=keys)
        session.connection().execute(stmt, rows)


def agent_changes(event: EventRow) -> list[dict[str, Any]]:
    """Login/logout/pause/unpause rows a stored event row implies (none for most events),
    their text cut to its columns."""
    return [_fit_agent(row) for row in _changes(event)]


def _changes(event: EventRow) -> list[dict[str, Any]]:
    f, name = event.fields, event.name
    if name != QUEUE_LOG and not name.startswith("QueueMember"):
        return []
    base = {"node": event.node, "at": as_utc(event.at).replace(microsecond=0), "reason": None}
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


def update_rings(session: Session, events: Sequence[EventRow]) -> None:
    """Keep each agent's latest ring state; an older event never overwrites a newer one."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        if e.name not in _RING_EVENTS:
            continue
        agent = fit(e.fields.get("MemberName"), _AGENT_WIDTHS["agent"])
        if agent:
            key = (e.node, agent)
            row = {
                "node": e.node,
                "agent": agent,
                "linkedid": e.linkedid,
                "ringing": _RING_EVENTS[e.name],
                "at": e.at,
            }
            if key not in latest or latest[key]["at"] <= row["at"]:
                latest[key] = row
    if not latest:
        return
    # In key order, like every batch: two concurrent upserts never wait on each other crosswise.
    rows = [latest[key] for key in sorted(latest)]
    stmt = conflict_insert(session, AgentRing)
    upsert = stmt.on_conflict_do_update(
        index_elements=["node", "agent"],
        set_={n: stmt.excluded[n] for n in ("linkedid", "ringing", "at")},
        where=col(AgentRing.at) <= stmt.excluded.at,
    )
    session.connection().execute(upsert, rows)


def _rows(text: Any) -> list[dict[str, str]]:
    """A snapshot part (a JSON list of header objects); [] for anything else."""
    try:
        rows = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return []
    if not isinstance(rows, list):
        return []
    return [
        {str(k): str(v) for k, v in row.items() if isinstance(v, str | int | float)}
        for row in rows
        if isinstance(row, dict)
    ]


def store_snapshots(session: Session, events: Sequence[EventRow]) -> None:
    """Keep each node's newest QueueStatus snapshot; an older one never replaces it."""
    latest: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.name != QUEUE_SNAPSHOT:
            continue
        row = {
            "node": e.node,
            "at": e.at,
            "event_id": e.id,
            "queues": _rows(e.fields.get("Queues")),
            "members": _rows(e.fields.get("Members")),
            "entries": _rows(e.fields.get("Entries")),
        }
        if e.node not in latest or latest[e.node]["at"] <= row["at"]:
            latest[e.node] = row
    if not latest:
        return
    stmt = conflict_insert(session, QueueSnapshot)
    upsert = stmt.on_conflict_do_update(
        index_elements=["node"],
        set_={n: stmt.excluded[n] for n in ("at", "event_id", "queues", "members", "entries")},
        where=col(QueueSnapshot.at) <= stmt.excluded.at,
    )
    session.connection().execute(upsert, [latest[node] for node in sorted(latest)])


def event_row(e: EventIn) -> EventRow:
    at = as_utc(event_time(e.fields, e.received_at))
    linkedid = linkedid_of(e.name, e.fields)
    return EventRow(e.id, e.node, e.name, at, as_utc(e.received_at), linkedid, dict(e.fields))


def lock_all(session: Session, space: int, keys: Iterable[int]) -> None:
    """Take PostgreSQL advisory locks for ``keys`` in ascending order (no deadlocks).

    SQLite has no such locks: there, the database's write lock is taken instead (a write
    that changes nothing starts the write transaction), so that what is read next cannot
    change before this transaction commits.
    """
    ordered = sorted(set(keys))
    if not is_postgres(session):
        session.execute(text("DELETE FROM ami_event WHERE 0"))
    elif ordered:
        # The keys travel as one text (see bulk.any_text): an int array is dumped in Python.
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:space, k) "
                "FROM unnest(CAST(string_to_array(:keys, ',') AS int[])) AS k"
            ),
            {"space": space, "keys": ",".join(map(str, ordered))},
        )


def call_key(node: str, linkedid: str) -> int:
    return zlib.crc32(f"{node}\0{linkedid}".encode()) - 2**31


def ingest(session: Session, events: Sequence[EventIn], thresholds: Thresholds) -> IngestResult:
    """Store a batch idempotently and bring calls, agent changes and rollups up to date."""
    accepted = ingest_rows(session, [event_row(e) for e in events], thresholds)
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted)


def ingest_rows(session: Session, rows: Sequence[EventRow], thresholds: Thresholds) -> int:
    """Store the rows not stored yet and derive what they change; commit; count the new ones."""
    unique = list({r.id: r for r in rows}.values())
    # A call's events are checked against its stored events, which are loaded under its
    # lock anyway (so a concurrent batch's are seen); only events of no call by id.
    known = known_ids(session, [r.id for r in unique if not r.linkedid])
    fresh = [r for r in unique if r.id not in known]
    received = len(fresh)
    fresh += cut_off_rows(session, fresh)  # the API's own events: not counted below
    keys = sorted({(r.node, r.linkedid) for r in fresh if r.linkedid})
    lock_all(session, 1, (call_key(node, linkedid) for node, linkedid in keys))
    stored = load_calls(session, keys)
    known = {r.id for events in stored.events.values() for r in events}
    new = insert_events(session, [r for r in fresh if r.id not in known])
    # In arrival order: a logout and a login in the same second are told apart by id.
    changes = [change for event in new for change in agent_changes(event)]
    _insert(session, AgentEvent, changes, ["node", "agent", "queue", "kind", "at"])
    update_rings(session, new)
    store_snapshots(session, new)
    store_recordings(session, new)
    for r in new:
        if r.linkedid:
            stored.events[(r.node, r.linkedid)].append(r)
    changed = sorted({(r.node, r.linkedid) for r in new if r.linkedid})
    hours = derive_stored(session, changed, stored, thresholds)
    refresh_locked(session, hours, thresholds)
    push_new(session, new)
    session.commit()
    log_ingest(new, changed)
    ours = {r.id for r in fresh[received:]}
    return sum(1 for r in new if r.id not in ours)


def derive_stored(
    session: Session, keys: Sequence[CallKey], stored: Stored, thresholds: Thresholds
) -> set[datetime]:
    """Derive these calls from all their events and queue_log lines and store the rows;
    return the hours they were and are in."""
    hours = {hour_of(at) for key in keys if (at := stored.entered.get(key)) is not None}
    rows = []
    for node, linkedid in keys:
        own = [Event(r.name, r.at, r.fields) for r in stored.events.get((node, linkedid), [])]
        own += [line_event(line.split("|")) for line in stored.lines.get((node, linkedid), [])]
        call = derive_call(linkedid, own, thresholds.short_abandon)
        derived = dict(zip(CALL_FIELDS, call_values(call), strict=True))
        rows.append({"node": node, "linkedid": linkedid, **derived})
        if derived["queue_entered_at"] is not None:
            hours.add(hour_of(derived["queue_entered_at"]))
    upsert_calls(session, rows)
    return hours


def refresh_locked(session: Session, hours: set[datetime], thresholds: Thresholds) -> None:
    """Rebuild these hours' rollups under their locks (a concurrent batch's calls counted)."""
    lock_all(session, 2, (int(hour.timestamp()) // 3600 for hour in hours))
    refresh_hours(session, sorted(hours), thresholds)
