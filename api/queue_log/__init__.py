"""Asterisk's queue_log as events: backfill a history, or reconcile a collector outage.

Each line becomes one event named ``QueueLog`` whose id is derived from the node and the
line's text, so importing the same file twice (or a rotated copy) stores nothing new. The
derivation merges these with AMI events of the same call (callid = the caller's uniqueid,
which is the linkedid of an inbound call).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from sqlmodel import Session

from api.events.bulk import EventRow
from api.events.derive import QUEUE_LOG
from api.events.schemas import EventIn
from api.events.service import ingest_rows
from api.queue_log._batches import by_call
from api.stats.aggregate import Thresholds

_NO_CALL = {"", "NONE", "REALTIME"}


def parse_row(line: str, node: str) -> EventRow | None:
    """``epoch|callid|queue|agent|VERB|data…`` → an event row, or None if malformed."""
    line = line.rstrip("\r\n")
    parts = line.split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    try:
        at = datetime.fromtimestamp(int(parts[0]), UTC)
    except (ValueError, OverflowError, OSError):
        return None
    fields = {"Timestamp": parts[0], "CallId": parts[1], "Queue": parts[2], "Agent": parts[3]}
    fields["Verb"] = parts[4]
    for i in range(5, len(parts)):
        fields[f"Data{i - 4}"] = parts[i]
    digest = blake2b(line.encode(), digest_size=16).hexdigest()
    callid = parts[1]
    linkedid = None if callid in _NO_CALL else callid
    return EventRow(f"ql:{node}:{digest}", node, QUEUE_LOG, at, at, linkedid, fields)


def parse_line(line: str, node: str) -> EventIn | None:
    """A queue_log line as the event ``POST /events`` would take (same id as the import)."""
    row = parse_row(line, node)
    if row is None:
        return None
    return EventIn(
        id=row.id, node=node, received_at=row.received_at, name=QUEUE_LOG, fields=row.fields
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


def _rows(
    path: Path, node: str, since: int | None, summary: ImportSummary
) -> Iterator[tuple[EventRow, int]]:
    """The file's lines to import, each with the bytes read up to its end."""
    done = 0
    with path.open("rb") as raw:
        for data in raw:
            done += len(data)
            summary.lines += 1
            event = parse_row(data.decode("utf-8", "replace"), node)
            if event is None:
                summary.malformed += 1
            elif since is not None and int(event.fields["Timestamp"]) < since:
                summary.skipped += 1
            else:
                yield event, done


def import_file(
    engine: Engine,
    path: Path,
    *,
    node: str,
    thresholds: Thresholds,
    since: int | None = None,
    batch_size: int = 3000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Load a queue_log file (idempotent); calls, agent sessions and rollups follow.

    On PostgreSQL two batches of calls are stored at once, each in its own transaction, so
    that one's Python work (deriving calls) overlaps the other's database work; batches
    keep calls whole, and the ingest's advisory locks serialise what they still share (an
    hour, a straggling call). Lines of no call (agents' logins and pauses) go through one
    worker of their own, in file order: a logout and a login in the same second are told
    apart by the order they were stored in. Batches stay small: each holds one advisory
    lock per call until it commits, and PostgreSQL's shared lock table is small.
    """
    summary = ImportSummary()
    # SQLite has a single writer: one batch at a time there.
    workers = (workers or 2) if engine.dialect.name == "postgresql" else 1

    def store(batch: list[EventRow]) -> int:
        with Session(engine) as session:
            return ingest_rows(session, batch, thresholds)

    def collect(job: tuple[list[Future[int]], int, int]) -> None:
        futures, size, done = job
        accepted = sum(future.result() for future in futures)
        summary.accepted += accepted
        summary.duplicates += size - accepted
        if progress is not None:
            progress(done)

    with (
        ThreadPoolExecutor(workers, thread_name_prefix="queue-log") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="queue-log-agents") as agents,
    ):
        jobs: deque[tuple[list[Future[int]], int, int]] = deque()
        for batch, done in by_call(_rows(path, node, since, summary), batch_size):
            calls = [row for row in batch if row.linkedid]
            others = [row for row in batch if not row.linkedid]
            futures = [pool.submit(store, calls)]
            if others:
                futures.append((agents if workers > 1 else pool).submit(store, others))
            jobs.append((futures, len(batch), done))
            while len(jobs) > workers:
                collect(jobs.popleft())
        while jobs:
            collect(jobs.popleft())
    return summary
