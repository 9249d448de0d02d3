"""The daily purge in the served app: every replica checks, the ``job_run`` claim lets one
run each Asia/Jakarta day's purge at or after ``retention_time`` (a replica that starts
later that day still runs it); a runner that dies mid-run has its claim taken over once
the lease runs out, and the next run finishes what it left."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.clock import JAKARTA
from api.core.run_once import claim, finish, finished, in_background, pause, runner_name
from api.core.settings import ApiSettings
from api.retention import purge

JOB = "retention"
# Longer than a first purge over years of data, so no second replica joins it midway.
LEASE = timedelta(hours=6)
log = logging.getLogger("uvicorn.error")


def due_period(now: datetime, at: time) -> str | None:
    """The Jakarta day whose purge is due at ``now`` (None before ``at``)."""
    local = now.astimezone(JAKARTA)
    return local.date().isoformat() if local.time() >= at else None


def attempt(engine: Engine, settings: ApiSettings, runner: str, period: str) -> bool:
    """Claim and run ``period``'s purge; True once that day needs nothing more from us."""
    with Session(engine) as session:
        if not claim(session, job=JOB, period=period, runner=runner, lease=LEASE):
            return finished(session, job=JOB, period=period)
        try:
            done = purge.run(engine, settings, trigger="schedule", runner=runner)
        except Exception as exc:
            session.rollback()
            finish(session, job=JOB, period=period, error=repr(exc))
            raise
        finish(session, job=JOB, period=period)
        log.info("retention %s: purged %s", period, done.counts)
        return True


async def run(engine: Engine, settings: ApiSettings, stop: asyncio.Event) -> None:
    runner, done = runner_name(), None
    while not stop.is_set():
        period = due_period(datetime.now(UTC), settings.retention_time)
        if period is not None and period != done:
            try:
                if await asyncio.to_thread(attempt, engine, settings, runner, period):
                    done = period
            except Exception:
                log.exception("retention %s failed; retrying later", period)
        await pause(stop, settings.retention_check_seconds)


@asynccontextmanager
async def scheduled(engine: Engine, settings: ApiSettings) -> AsyncIterator[None]:
    if not settings.retention_enabled:
        log.warning(
            "LAPOR_API_RETENTION_ENABLED=false: callers' numbers and recordings are kept"
            " forever, which UU 27/2022 allows only while they are still needed"
        )
        yield
        return
    async with in_background(lambda stop: run(engine, settings, stop)):
        yield
