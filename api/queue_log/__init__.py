"""Asterisk's queue_log into the database: backfill a history, or reconcile an outage.

A call's lines are stored once each (by their text) on its ``call`` row, so importing
the same file twice, or a rotated copy, stores nothing new. Calls are derived from their
lines merged with any AMI events of the same call (callid = the caller's uniqueid, which
is the linkedid of an inbound call).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import Session

from api.events.hourly import Thresholds
from api.queue_log._batches import by_call
from api.queue_log._pipeline import ImportSummary, import_lines, split_line
from api.queue_log._store import refresh_hours_of, store_agents, store_calls

__all__ = ["ImportSummary", "Progress", "import_file", "import_received", "split_line"]


class Progress:
    """A one-line progress bar on stderr (bytes read of the file)."""

    def __init__(self, total: int, out: TextIO | None = None) -> None:
        self.total, self.out, self.shown = max(total, 1), out or sys.stderr, -1

    def __call__(self, done: int) -> None:
        pct = min(100, 100 * done // self.total)
        if pct != self.shown:
            self.shown = pct
            bar = "#" * (pct // 4)
            self.out.write(f"\r[{bar:<25}] {pct:3d}%")
            if pct == 100:
                self.out.write("\n")
            self.out.flush()


def import_file(
    engine: Engine,
    path: Path,
    *,
    node: str,
    thresholds: Thresholds,
    since: int | None = None,
    batch_size: int = 3000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Load a queue_log file (idempotent); calls, agent sessions and rollups follow.

    The rollups of every hour the file's calls touch are rebuilt once at the end (a re-run
    names the same hours, so it also mends the rollups of a run that stopped half-way).
    Batches stay small enough for PostgreSQL's shared lock table: each holds one advisory
    lock per call until it commits.
    """
    summary = import_lines(
        engine,
        path,
        node=node,
        thresholds=thresholds,
        since=since,
        batch_size=batch_size,
        progress=progress,
    )
    refresh_hours_of(engine, summary.hours, thresholds)
    return summary


def import_received(
    engine: Engine, lines: Sequence[str], *, node: str, thresholds: Thresholds
) -> ImportSummary:
    """Store queue_log lines a collector read from its node's file (``POST /queue-log``):
    the same idempotent store as a file import, in one batch; rollups rebuilt."""
    summary = ImportSummary(lines=len(lines))
    parsed = []
    for line in lines:
        parts = split_line(line)
        if parts is None:
            summary.malformed += 1
        else:
            parsed.append((parts, 0))
    for batch in by_call(parsed, len(parsed) + 1):
        with Session(engine) as session:
            accepted, hours = store_calls(session, node, batch.calls, thresholds)
        summary.accepted += accepted
        summary.duplicates += sum(len(v) for v in batch.calls.values()) - accepted
        summary.hours |= hours
        if batch.others:
            with Session(engine) as session:
                added, changed = store_agents(session, node, batch.others)
            summary.accepted += added
            summary.duplicates += changed - added
            summary.no_call += len(batch.others) - changed
    refresh_hours_of(engine, summary.hours, thresholds)
    return summary
