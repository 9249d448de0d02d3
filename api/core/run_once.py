"""Run-once-per-period jobs across API replicas (e.g. the mayor's daily report).

Every replica's scheduler may try the same job for the same period; the database decides
who runs it. Claiming inserts a ``job_run`` row whose (job, period) is unique, so exactly
one replica wins. A claim whose runner died (no finish within the lease) may be taken
over by another replica with a single conditional UPDATE, so a crash doesn't skip a day.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

DEFAULT_LEASE = timedelta(minutes=30)


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_run_job_period"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=64)
    period: str = Field(max_length=32)
    runner: str = Field(max_length=100)
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = Field(default=None, max_length=500)


def claim(
    session: Session, *, job: str, period: str, runner: str, lease: timedelta = DEFAULT_LEASE
) -> bool:
    """Try to become the one runner of ``job`` for ``period``; True if this runner won."""
    now = datetime.now(UTC)
    session.add(JobRun(job=job, period=period, runner=runner, started_at=now))
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
    # Someone claimed it. Take it over only if they never finished and their lease ran out.
    taken = session.connection().execute(
        update(JobRun)
        .where(
            col(JobRun.job) == job,
            col(JobRun.period) == period,
            col(JobRun.finished_at).is_(None),
            col(JobRun.started_at) < now - lease,
        )
        .values(runner=runner, started_at=now, error=None)
    )
    session.commit()
    return bool(taken.rowcount)


def finish(session: Session, *, job: str, period: str, error: str | None = None) -> None:
    """Mark the run done; with an error the row stays unfinished so a retry can take it."""
    run = session.exec(select(JobRun).where(JobRun.job == job, JobRun.period == period)).one()
    if error is None:
        run.finished_at = datetime.now(UTC)
    run.error = error[:500] if error else None
    session.add(run)
    session.commit()


def runner_name() -> str:
    """This replica's name in a claim: host and process."""
    return f"{socket.gethostname()}-{os.getpid()}"[:100]


def finished(session: Session, *, job: str, period: str) -> bool:
    """Whether ``job`` has run to its end for ``period`` (on any replica)."""
    run = session.exec(select(JobRun).where(JobRun.job == job, JobRun.period == period)).first()
    return run is not None and run.finished_at is not None


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds`` between checks, or less if ``stop`` is set."""
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@asynccontextmanager
async def in_background(
    loop: Callable[[asyncio.Event], Coroutine[object, object, None]],
) -> AsyncIterator[None]:
    """Run ``loop(stop)`` while the block runs; at its end set ``stop`` and wait for it."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))
    try:
        yield
    finally:
        stop.set()
        await task
