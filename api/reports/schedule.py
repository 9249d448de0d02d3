"""Each API replica runs this loop; the ``job_run`` claim lets only one generate a day.

At or after the configured time (Asia/Jakarta) the due day is yesterday; before it, the
day before yesterday, so a replica that starts late still catches up a missed report.
A replica that loses the claim does nothing; if the winner dies mid-run, its claim's
lease runs out and another replica takes the run over (``api.core.run_once``).
Once the day's report is stored, every replica offers it to ``delivery.deliver`` at each
check until all configured channels have sent it; each channel's own claim lets only one
replica send it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from api.core.clock import JAKARTA
from api.core.metrics import REPORT_RUNS
from api.core.run_once import claim, finish, finished, in_background, pause, runner_name
from api.core.settings import ApiSettings
from api.reports import delivery, service

JOB = "daily_report"
# uvicorn's server log, so these lines share its level and handler under lapor-api.
log = logging.getLogger("uvicorn.error")


def due_day(now: datetime, at: time) -> date:
    """The latest day whose report is due at ``now``."""
    local = now.astimezone(JAKARTA)
    return local.date() - timedelta(days=1 if local.time() >= at else 2)


def attempt(engine: Engine, settings: ApiSettings, runner: str, day: date) -> bool:
    """Claim and generate ``day``'s report; True once that day needs nothing more from us."""
    period = day.isoformat()
    with Session(engine) as session:
        if not claim(session, job=JOB, period=period, runner=runner):
            done = finished(session, job=JOB, period=period)
            log.info("daily report %s: claimed by another replica (finished: %s)", period, done)
            REPORT_RUNS.labels(outcome="claimed_elsewhere").inc()
            return done
        log.info("daily report %s: claimed by %s, generating", period, runner)
        try:
            _, made = service.generate(session, day=day, settings=settings)
        except Exception as exc:
            session.rollback()
            finish(session, job=JOB, period=period, error=repr(exc))
            REPORT_RUNS.labels(outcome="failed").inc()
            raise
        finish(session, job=JOB, period=period)
        REPORT_RUNS.labels(outcome="generated" if made else "already_stored").inc()
        log.info("daily report %s: %s", period, "generated" if made else "already stored")
        return True


async def run(engine: Engine, settings: ApiSettings, stop: asyncio.Event) -> None:
    """Check every ``report_check_seconds`` until ``stop`` is set."""
    runner, done, delivered = runner_name(), None, None
    while not stop.is_set():
        day = due_day(datetime.now(UTC), settings.report_time)
        if day != done:
            try:
                if await asyncio.to_thread(attempt, engine, settings, runner, day):
                    done = day
            except Exception:
                log.exception("daily report %s failed; retrying later", day.isoformat())
        if day == done and day != delivered and delivery.configured(settings):
            try:
                if delivery.all_sent(settings, await delivery.deliver(engine, settings, day, stop)):
                    log.info("daily report %s: all delivered", day)
                    delivered = day
            except Exception:
                log.exception("daily report %s: delivery failed; retrying later", day)
        await pause(stop, settings.report_check_seconds)


@asynccontextmanager
async def scheduled(engine: Engine, settings: ApiSettings) -> AsyncIterator[None]:
    """Run the schedule in the background while the app serves (if ``report_enabled``)."""
    if not settings.report_enabled:
        yield
        return
    async with in_background(lambda stop: run(engine, settings, stop)):
        yield
