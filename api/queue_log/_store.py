"""Store one batch of queue_log lines: call rows with their lines, agents' changes.

A call with no row yet takes the fast path: its row is derived from its lines alone and
``COPY``'d in with them (no AMI event of it can be stored: the ingest stores a call's
events and its row in one transaction). A stored call gets its new lines merged into the
stored ones and is derived again from everything known, AMI events included (a reconcile
after a collector outage), exactly as ``POST /events`` does. Calls are locked first with
the ingest's own advisory locks, so an import and a live ingest of the same call
serialise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, text, update
from sqlmodel import Session, col

from api.core.db import conflict_insert, is_postgres
from api.events.bulk import (
    CallKey,
    Stored,
    insert_new_calls,
    load_events,
    load_rows,
    stage_rows,
)
from api.events.derive import QUEUE_LOG
from api.events.derive_lines import Line, derive_lines, line_event
from api.events.hourly import Thresholds
from api.events.models import AgentEvent, Call
from api.events.service import (
    CALL_FIELDS,
    EventRow,
    agent_changes,
    call_key,
    call_values,
    derive_stored,
    lock_all,
    refresh_locked,
)

_CALL_NAMES = ("node", "linkedid", "queue_log", *CALL_FIELDS)


def _save_lines(session: Session, node: str, rows: list[tuple[str, str]]) -> None:
    """Replace the queue_log lines of stored calls: (linkedid, lines) rows."""
    if not rows:
        return
    if is_postgres(session):
        columns = (("node", "text"), ("linkedid", "text"), ("queue_log", "text"))
        stage_rows(session, "stage_lines", columns, ((node, *row) for row in rows))
        session.execute(
            text(
                "UPDATE call SET queue_log = s.queue_log FROM stage_lines s "
                "WHERE call.node = s.node AND call.linkedid = s.linkedid"
            )
        )
        return
    session.connection().execute(
        update(Call)
        .where(col(Call.node) == bindparam("n"), col(Call.linkedid) == bindparam("c"))
        .values(queue_log=bindparam("l")),
        [{"n": node, "c": callid, "l": lines} for callid, lines in rows],
    )


def _hour(at: datetime) -> int:
    return int(at.timestamp()) // 3600


def store_calls(
    session: Session, node: str, calls: dict[str, list[Line]], thresholds: Thresholds
) -> tuple[int, set[int]]:
    """Store a batch's calls' lines and derive the calls; commit.

    Returns the number of new lines and the hours (since the epoch) the batch's calls are
    in, were in, or would be in: the caller rebuilds their rollups once at the end (which
    also mends the rollups of a run that stopped half-way, since a re-run names the same
    hours).
    """
    callids = sorted(calls)
    lock_all(session, 1, (call_key(node, callid) for callid in callids))
    known = Stored()
    load_rows(session, [(node, callid) for callid in callids], known)
    accepted = 0
    rows: list[tuple[Any, ...]] = []
    merged: list[tuple[str, str]] = []
    again: list[CallKey] = []  # stored calls with new lines: derived from everything
    hours = {_hour(at) for at in known.entered.values() if at is not None}
    for callid in callids:
        texts = list(dict.fromkeys("|".join(parts) for parts in calls[callid]))
        old = known.lines.get((node, callid))
        if old is not None:
            seen = set(old)
            new = [line for line in texts if line not in seen]
            if new:
                known.lines[(node, callid)] = [*old, *new]
                merged.append((callid, "\n".join(known.lines[(node, callid)])))
                again.append((node, callid))
            accepted += len(new)
            continue
        accepted += len(texts)
        unique = calls[callid]
        if len(texts) < len(unique):
            unique = [line.split("|") for line in texts]
        row = derive_lines(unique, thresholds.short_abandon)
        rows.append((node, callid, "\n".join(texts), *call_values(row)))
        if row.queue_entered_at is not None:
            hours.add(_hour(row.queue_entered_at))
    insert_new_calls(session, _CALL_NAMES, rows)
    if again:
        _save_lines(session, node, merged)
        load_events(session, again, known)
        hours |= {_hour(at) for at in derive_stored(session, again, known, thresholds)}
    session.commit()
    return accepted, hours


def refresh_hours_of(engine: Engine, hours: set[int], thresholds: Thresholds) -> None:
    """Rebuild the rollups of these hours, a few hundred per transaction (each hour holds
    an advisory lock until its transaction commits)."""
    ordered = sorted(hours)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        with Session(engine) as session:
            refresh_locked(
                session, {datetime.fromtimestamp(h * 3600, UTC) for h in chunk}, thresholds
            )
            session.commit()


def agent_rows(node: str, lines: Sequence[Line]) -> list[dict[str, Any]]:
    """The agent changes among lines of no call (others, like QUEUESTART, imply none)."""
    rows = []
    for parts in lines:
        line = line_event(parts)
        rows += agent_changes(EventRow("", node, QUEUE_LOG, line.at, line.at, None, line.fields))
    return rows


def store_agents(session: Session, node: str, lines: Sequence[Line]) -> tuple[int, int]:
    """Store agents' changes in file order; commit; count the new ones and all of them."""
    rows = agent_rows(node, lines)
    if not rows:
        return 0, 0
    insert = conflict_insert(session, AgentEvent).on_conflict_do_nothing(
        index_elements=["node", "agent", "queue", "kind", "at"]
    )
    # Rows go in file order (a logout and a login in the same second); RETURNING counts
    # the ones not stored before.
    added = len(session.connection().execute(insert.returning(AgentEvent.id), rows).all())
    session.commit()
    return added, len(rows)
