"""Asterisk's queue_log as events: backfill a history, or reconcile a collector outage.

Each line becomes one event named ``QueueLog`` whose id is derived from the node and the
line's text, so importing the same file twice (or a rotated copy) stores nothing new. The
derivation merges these with AMI events of the same call (callid = the caller's uniqueid,
which is the linkedid of an inbound call).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import Session

from api.events.derive import QUEUE_LOG
from api.events.schemas import EventIn
from api.events.service import ingest
from api.stats.aggregate import Thresholds


def parse_line(line: str, node: str) -> EventIn | None:
    """``epoch|callid|queue|agent|VERB|data…`` → an event, or None if malformed."""
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    try:
        at = datetime.fromtimestamp(int(parts[0]), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    fields = {"Timestamp": parts[0], "CallId": parts[1], "Queue": parts[2], "Agent": parts[3]}
    fields["Verb"] = parts[4]
    fields.update({f"Data{i}": value for i, value in enumerate(parts[5:], start=1)})
    digest = hashlib.blake2b(line.rstrip("\r\n").encode(), digest_size=16).hexdigest()
    return EventIn(
        id=f"ql:{node}:{digest}", node=node, received_at=at, name=QUEUE_LOG, fields=fields
    )


@dataclass
class ImportSummary:
    lines: int = 0
    malformed: int = 0
    skipped: int = 0
    accepted: int = 0
    duplicates: int = 0

    def __str__(self) -> str:
        return (
            f"{self.lines} lines: {self.accepted} new, {self.duplicates} already stored, "
            f"{self.skipped} before --since, {self.malformed} malformed"
        )


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


def _batches(
    path: Path,
    node: str,
    since: int | None,
    size: int,
    summary: ImportSummary,
    progress: Callable[[int], None],
) -> Iterator[list[EventIn]]:
    batch: list[EventIn] = []
    done = 0
    with path.open("rb") as raw:
        for data in raw:
            done += len(data)
            summary.lines += 1
            event = parse_line(data.decode("utf-8", "replace"), node)
            if event is None:
                summary.malformed += 1
            elif since is not None and int(event.fields["Timestamp"]) < since:
                summary.skipped += 1
            else:
                batch.append(event)
            if len(batch) >= size:
                progress(done)
                yield batch
                batch = []
    if batch:
        yield batch
    progress(done)


def import_file(
    engine: Engine,
    path: Path,
    *,
    node: str,
    thresholds: Thresholds,
    since: int | None = None,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Load a queue_log file (idempotent); calls, agent sessions and rollups follow."""
    summary = ImportSummary()
    for batch in _batches(path, node, since, batch_size, summary, progress or (lambda _: None)):
        with Session(engine) as session:
            result = ingest(session, batch, thresholds)
        summary.accepted += result.accepted
        summary.duplicates += result.duplicates
    return summary
