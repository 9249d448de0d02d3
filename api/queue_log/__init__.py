"""Asterisk's queue_log into the database: backfill a history, or reconcile an outage.

A call's lines are stored once each (by their text) on its ``call`` row, so importing
the same file twice, or a rotated copy, stores nothing new. Calls are derived from their
lines merged with any AMI events of the same call (callid = the caller's uniqueid, which
is the linkedid of an inbound call).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from api.db import make_engine
from api.queue_log._share import ImportSummary, Share, import_share, split_line
from api.queue_log._store import refresh_hours_of
from api.stats.aggregate import Thresholds

__all__ = ["ImportSummary", "Progress", "import_file", "split_line"]

# Below this size one process is quicker than starting more.
_PARALLEL_BYTES = 8 * 1024 * 1024


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
    jobs: int | None = None,
    batch_size: int = 3000,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Load a queue_log file (idempotent); calls, agent sessions and rollups follow.

    On PostgreSQL a large file is shared between ``jobs`` processes (one per CPU by
    default), each storing the calls whose callid hashes to it; SQLite, a single writer,
    takes one. The rollups of every hour the file's calls touch are rebuilt at the end.
    Batches stay small enough for PostgreSQL's shared lock table: each holds one advisory
    lock per call until it commits, and up to four are open at once per process.
    """
    if engine.dialect.name != "postgresql":
        jobs = 1
    elif jobs is None:
        jobs = (os.cpu_count() or 1) if path.stat().st_size >= _PARALLEL_BYTES else 1
    if jobs == 1:
        summary = import_share(
            engine,
            path,
            node=node,
            thresholds=thresholds,
            since=since,
            share=Share(),
            batch_size=batch_size,
            progress=progress,
        )
    else:
        url = engine.url.render_as_string(hide_password=False)
        summary = _in_processes(url, path, node, thresholds, since, jobs, batch_size, progress)
    refresh_hours_of(engine, summary.hours, thresholds)
    return summary


def _in_processes(
    url: str,
    path: Path,
    node: str,
    thresholds: Thresholds,
    since: int | None,
    jobs: int,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> ImportSummary:
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections
    results: Any = context.Queue()
    done = [context.Value("q", 0) for _ in range(jobs)]
    workers = [
        context.Process(
            target=_share_process,
            args=(url, path, node, thresholds, since, Share(i, jobs), batch_size, results, done[i]),
            name=f"queue-log-{i}",
        )
        for i in range(jobs)
    ]
    for worker in workers:
        worker.start()
    summary = ImportSummary()
    received = 0
    try:
        while received < jobs:
            if progress is not None:
                progress(min(value.value for value in done))
            try:
                outcome = results.get(timeout=0.2)
            except queue.Empty:
                if any(w.exitcode not in (None, 0) for w in workers):
                    raise RuntimeError("a queue_log import process failed") from None
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            summary.add(outcome)
            received += 1
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
    if progress is not None:
        progress(path.stat().st_size)
    return summary


def _share_process(
    url: str,
    path: Path,
    node: str,
    thresholds: Thresholds,
    since: int | None,
    share: Share,
    batch_size: int,
    results: Any,
    done: Any,
) -> None:
    engine = make_engine(url)
    try:

        def report(offset: int) -> None:
            done.value = offset

        results.put(
            import_share(
                engine,
                path,
                node=node,
                thresholds=thresholds,
                since=since,
                share=share,
                batch_size=batch_size,
                progress=report,
            )
        )
    except Exception as exc:
        # The queue is flushed before the process exits; the parent raises it.
        results.put(RuntimeError(f"queue_log share {share.index}: {exc!r}"))
    finally:
        engine.dispose()
