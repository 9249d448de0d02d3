"""Fault tests: the collector SIGKILLed mid-batch, and the API stopped mid-batch.

With the API down, the collector's disk buffer holds every event, so those calls come out
right with no help. Events Asterisk sent while the collector itself was dead are gone from
AMI for good: ``lapor reconcile`` fills them from queue_log, and the final figures must
then equal queue_log's, with nothing doubled.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from api.core.auth import Role
from api.events.models import Call
from ivr import CallOutcome
from sandbox.harness import Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.kpi_support import (
    NODE,
    CollectorProcess,
    QueueLogTruth,
    api_get,
    assert_api_equals_truth,
)
from tests.e2e.services import BIN, ApiProcess
from tests.e2e.test_kpi_truth import (
    AGENTS,
    all_delivered,
    collector,
    kpi_api,
    kpi_ivr,
    next_second,
    place,
    relog_agents,
    wait_until,
)

pytestmark = pytest.mark.e2e
__all__ = ["collector", "kpi_api", "kpi_ivr"]  # fixtures shared with the truth test


def queued_uniqueids(sandbox: Sandbox, callers: set[str]) -> dict[str, str]:
    lines = [f.split("|") for f in sandbox.callcenter.queue_log.read_text().splitlines()]
    return {f[6]: f[1] for f in lines if len(f) > 6 and f[4] == "ENTERQUEUE" and f[6] in callers}


def finished(sandbox: Sandbox, callers: set[str]) -> bool:
    ids = queued_uniqueids(sandbox, callers)
    truth = QueueLogTruth.read(sandbox.callcenter.queue_log, set(ids.values()))
    return len(ids) == len(callers) and truth.finished() == set(ids.values())


def reconcile(api: ApiProcess, queue_log: Path) -> str:
    """``lapor reconcile`` as an operator runs it after an outage."""
    env = {**os.environ, "LAPOR_API_DATABASE_URL": api.database_url}
    return subprocess.run(
        [
            str(BIN / "lapor"),
            "reconcile",
            "--node",
            NODE,
            "--hours",
            "1",
            "--quiet",
            str(queue_log),
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


async def batch(sandbox: Sandbox, kinds: list[str]) -> dict[str, str]:
    callers = {random_caller(): kind for kind in kinds}
    async with await sandbox.connect_ami() as ami:
        await asyncio.gather(
            *(place(sandbox, ami, c, k, 0.7 * i) for i, (c, k) in enumerate(callers.items()))
        )
    return callers


async def batch_through_a_fault(
    sandbox: Sandbox, after: float, fault: Callable[[], Awaitable[None]]
) -> tuple[int, dict[str, str], set[str]]:
    """A mixed batch of calls with ``fault`` run ``after`` seconds into it, waited for until
    queue_log has them all ended: its start second, caller -> kind, and the queued callers."""
    await relog_agents(sandbox)
    start = await next_second()
    kinds = ["answered"] * 6 + ["abandon_long", "abandon_short", "ivr_only"]
    calls = asyncio.create_task(batch(sandbox, kinds))
    await asyncio.sleep(after)
    await fault()
    callers = await calls
    queued = {c for c, k in callers.items() if k != "ivr_only"}
    await wait_until(lambda: finished(sandbox, queued), 180, "the batch to end in queue_log")
    return start, callers, queued


def assert_equal_to_queue_log(
    sandbox: Sandbox, api: ApiProcess, callers: set[str], start: int, end: int
) -> None:
    ids = queued_uniqueids(sandbox, callers)
    truth = QueueLogTruth.read(sandbox.callcenter.queue_log, set(ids.values()))
    assert_api_equals_truth(api, truth, start, end, AGENTS)
    lo, hi = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    with Session(api.engine) as session:
        entered = col(Call.queue_entered_at)
        rows = session.exec(
            select(func.count()).select_from(Call).where(entered >= lo, entered < hi)
        ).one()
    assert rows == len(ids)  # one row per queued call: nothing doubled


async def test_api_stopped_mid_batch_loses_nothing(
    sandbox: Sandbox,
    ivr_server: list[CallOutcome],
    kpi_api: ApiProcess,
    collector: CollectorProcess,
) -> None:
    async def api_outage() -> None:
        await asyncio.to_thread(kpi_api.stop)  # mid-batch: events pile up in the collector's buffer
        await asyncio.sleep(12)
        await asyncio.to_thread(kpi_api.start)

    start, callers, queued = await batch_through_a_fault(sandbox, 4, api_outage)
    await wait_until(
        lambda: all_delivered(kpi_api, callers), 60, "the collector to deliver the buffered events"
    )
    end = await next_second()
    # No reconcile here: the disk buffer alone carried the API outage.
    assert_equal_to_queue_log(sandbox, kpi_api, queued, start, end)


async def test_collector_killed_mid_batch_then_reconcile(
    sandbox: Sandbox,
    ivr_server: list[CallOutcome],
    kpi_api: ApiProcess,
    collector: CollectorProcess,
) -> None:
    restarted: list[datetime] = []

    async def collector_killed() -> None:
        await asyncio.to_thread(collector.kill)  # SIGKILL mid-batch
        await asyncio.sleep(6)  # AMI events of these seconds are gone for good
        restarted.append(datetime.now(UTC))
        await asyncio.to_thread(collector.start)  # same buffer folder: what it had is re-sent

    start, _, queued = await batch_through_a_fault(sandbox, 5, collector_killed)
    # The new collector told the API at once that it reaches Asterisk again.
    supervisor = kpi_api.token(Role.supervisor)
    [status] = [c for c in api_get(kpi_api, "/collectors", supervisor) if c["node"] == NODE]
    assert status["ami_connected"]
    assert not status["silent"]
    assert datetime.fromisoformat(status["reported_at"]) >= restarted[0]
    await asyncio.sleep(3)
    end = await next_second()
    out = reconcile(kpi_api, sandbox.callcenter.queue_log)
    assert "new" in out
    assert_equal_to_queue_log(sandbox, kpi_api, queued, start, end)
    # Reconcile twice: nothing changes.
    assert " 0 new" in reconcile(kpi_api, sandbox.callcenter.queue_log)
    assert_equal_to_queue_log(sandbox, kpi_api, queued, start, end)
