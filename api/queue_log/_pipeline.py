"""A queue_log import's pipeline: read, split, batch, store."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.db import is_postgres
from api.core.text import without_nul
from api.events.derive_lines import Line
from api.events.hourly import Thresholds
from api.queue_log._batches import Batch, by_call
from api.queue_log._store import store_agents, store_calls

# Column widths a line's parts must fit (epoch digits, call.linkedid, call.queue, agent).
_WIDTHS = (11, 64, 64, 128)


def split_line(line: str) -> Line | None:
    """``epoch|callid|queue|agent|VERB|data…`` split on ``|``, or None if malformed."""
    parts = without_nul(line.rstrip("\r\n")).split("|")
    if len(parts) < 5 or not parts[4]:
        return None
    epoch = parts[0]
    if not (epoch.isascii() and epoch.isdigit()):
        return None
    for part, width in zip(parts, _WIDTHS, strict=False):
        if len(part) > width:
            return None
    return parts


@dataclass
class ImportSummary:
    lines: int = 0
    malformed: int = 0
    skipped: int = 0
    accepted: int = 0
    duplicates: int = 0
    no_call: int = 0  # lines of no call that change no agent (QUEUESTART, CONFIGRELOAD…)
    hours: set[int] = field(default_factory=set, repr=False)  # touched, since the epoch

    def __str__(self) -> str:
        return (
            f"{self.lines} lines: {self.accepted} new, {self.duplicates} already stored, "
            f"{self.skipped} before --since, {self.malformed} malformed, "
            f"{self.no_call} of no call or agent"
        )


def _lines(path: Path, since: int | None, summary: ImportSummary) -> Iterator[tuple[Line, int]]:
    """The lines to import, each with the bytes of the file read up to its end."""
    done = 0
    with path.open("rb") as raw:
        for data in raw:
            done += len(data)
            summary.lines += 1
            parts = split_line(data.decode("utf-8", "replace"))
            if parts is None:
                summary.malformed += 1
            elif since is not None and int(parts[0]) < since:
                summary.skipped += 1
            else:
                yield parts, done


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic GC off: millions of small lists would set it off again and again
    (measured: it tripled the time to parse and group a file), and they hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Job = tuple[Batch, "Future[tuple[int, set[int]]]", "Future[tuple[int, int]] | None"]


def import_lines(
    engine: Engine,
    path: Path,
    *,
    node: str,
    thresholds: Thresholds,
    since: int | None,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Store the file's lines; rollups are left to the caller (``summary.hours``).

    On PostgreSQL two batches of calls are stored at once, each in its own transaction, so
    that one's Python work overlaps the other's database work. Lines of no call (agents'
    logins and pauses) go through one worker of their own, in file order: a logout and a
    login in the same second are told apart by the order they were stored in.
    """
    summary = ImportSummary()
    # SQLite has a single writer: one batch at a time there.
    workers = 2 if is_postgres(engine) else 1

    def calls(batch: Batch) -> tuple[int, set[int]]:
        with Session(engine) as session:
            return store_calls(session, node, batch.calls, thresholds)

    def agents(batch: Batch) -> tuple[int, int]:
        with Session(engine) as session:
            return store_agents(session, node, batch.others)

    def collect(job: Job) -> None:
        batch, stored, changes = job
        accepted, hours = stored.result()
        summary.hours |= hours
        summary.accepted += accepted
        summary.duplicates += sum(len(lines) for lines in batch.calls.values()) - accepted
        if changes is not None:
            added, changed = changes.result()
            summary.accepted += added
            summary.duplicates += changed - added
            summary.no_call += len(batch.others) - changed
        if progress is not None:
            progress(batch.done)

    with (
        no_gc(),
        ThreadPoolExecutor(workers, thread_name_prefix="queue-log") as pool,
        ThreadPoolExecutor(1, thread_name_prefix="queue-log-agents") as agent_pool,
    ):
        jobs: deque[Job] = deque()
        for batch in by_call(_lines(path, since, summary), batch_size):
            stored = pool.submit(calls, batch)
            changes = None
            if batch.others:
                changes = (agent_pool if workers > 1 else pool).submit(agents, batch)
            jobs.append((batch, stored, changes))
            while len(jobs) > workers:
                collect(jobs.popleft())
        while jobs:
            collect(jobs.popleft())
    return summary
