"""Asterisk's queue_log into the database: backfill a history, or reconcile an outage.

A call's lines are stored once each (by their text) on its ``call`` row, so importing
the same file twice, or a rotated copy, stores nothing new. Calls are derived from their
lines merged with any AMI events of the same call (callid = the caller's uniqueid, which
is the linkedid of an inbound call).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from api.events.hourly import Thresholds
from api.queue_log._pipeline import ImportSummary, import_lines, split_line
from api.queue_log._store import refresh_hours_of

__all__ = ["ImportSummary", "Progress", "import_file", "split_line"]


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
