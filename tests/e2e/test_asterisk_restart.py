"""The call center's Asterisk SIGKILLed during 20 live calls, started again, 20 more calls:
no ghost callers or officers afterwards, and every KPI of the period equals queue_log's.

A SIGKILLed Asterisk writes nothing for the calls it dropped (no Hangup, no queue_log
outcome). The collector reconnects by itself, forwards Asterisk's FullyBooted (its
uptime), and the API closes the calls that died with the old process
(api/events/restarts.py); the collector also sends the queue_log lines of the gap
(collector/_queue_log.py). Nobody runs ``lapor reconcile``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Collection

import pytest
from sqlmodel import Session, select

from api.core.auth import Role
from api.events.models import Call
from ivr import CallOutcome
from sandbox.harness import Sandbox
from tests.e2e.kpi_support import CollectorProcess, QueueLogTruth, api_get
from tests.e2e.services import ApiProcess
from tests.e2e.test_kpi_faults import assert_equal_to_queue_log, batch, queued_uniqueids
from tests.e2e.test_kpi_truth import (
    collector,
    kpi_api,
    next_second,
    relog_agents,
    wait_until,
)

pytestmark = pytest.mark.e2e
__all__ = ["collector", "kpi_api"]  # fixtures shared with the truth test
KINDS = ["answered"] * 17 + ["abandon_long", "abandon_short", "ivr_only"]


def entered(sandbox: Sandbox, callers: Collection[str]) -> int:
    return len(queued_uniqueids(sandbox, set(callers)))


def connected(sandbox: Sandbox, callers: Collection[str]) -> int:
    ids = set(queued_uniqueids(sandbox, set(callers)).values())
    return len(QueueLogTruth.read(sandbox.callcenter.queue_log, ids).verbs("CONNECT"))


def all_ended(api: ApiProcess, callers: Collection[str]) -> bool:
    """Every one of these callers has a call row, and each has an end."""
    with Session(api.engine) as session:
        rows = session.exec(select(Call).where(Call.caller.in_(list(callers)))).all()  # type: ignore[union-attr]
    return {r.caller for r in rows} == set(callers) and all(r.ended_at for r in rows)


async def sigkill_and_start_again(sandbox: Sandbox) -> None:
    center = sandbox.callcenter
    pids = center.running_pids()
    assert pids, "the call center's Asterisk is not running"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    await wait_until(lambda: not center.running_pids(), 20, "Asterisk to die")
    # The carrier's side of the dropped calls (citizens, officers' phones) hears nothing
    # from a dead Asterisk; real phones give up when the media stops. Here: at once.
    await rx_carrier(sandbox, "channel request hangup all")
    center.start()
    await center.wait_ready(sandbox.config.ready_timeout)
    # AMI answers before every module is loaded (app_queue among them).
    await asyncio.to_thread(center.rx, "core waitfullybooted", sandbox.config.ready_timeout)
    await sandbox.wait_agents_registered(sandbox.config.ready_timeout)
    for agent in sandbox.config.agents:  # persistent members come back from astdb
        await asyncio.to_thread(sandbox.add_member, agent)


async def rx_carrier(sandbox: Sandbox, command: str) -> str:
    return await asyncio.to_thread(sandbox.carrier.rx, command)


async def test_sigkill_mid_calls_leaves_no_ghosts_and_kpis_equal_queue_log(
    sandbox: Sandbox,
    ivr_server: list[CallOutcome],
    kpi_api: ApiProcess,
    collector: CollectorProcess,
) -> None:
    await relog_agents(sandbox)
    start = await next_second()
    first = asyncio.create_task(batch(sandbox, KINDS))
    placed_first: dict[str, str] = {}

    def busy() -> bool:
        # Officers talking and callers waiting when the process dies.
        queued = [c for c in placed_first if placed_first[c] != "ivr_only"]
        return connected(sandbox, queued) >= 2 and entered(sandbox, queued) >= 8

    placed_first.update(await first)
    await wait_until(busy, 120, "calls answered and waiting")
    await sigkill_and_start_again(sandbox)
    second = await batch(sandbox, KINDS)

    callers = {**placed_first, **second}
    queued = {c for c, kind in callers.items() if kind != "ivr_only"}
    first_ids = set(queued_uniqueids(sandbox, set(placed_first)).values())
    second_queued = {c for c in second if second[c] != "ivr_only"}

    def second_finished() -> bool:
        ids = set(queued_uniqueids(sandbox, second_queued).values())
        truth = QueueLogTruth.read(sandbox.callcenter.queue_log, ids)
        return len(ids) == len(second_queued) and truth.finished() == ids

    await wait_until(second_finished, 240, "the second batch to end in queue_log")
    await wait_until(lambda: all_ended(kpi_api, callers), 120, "every call to be closed")
    end = await next_second()

    # The crash really cut calls off: queue_log has no outcome for some of the first batch.
    cut = first_ids - QueueLogTruth.read(sandbox.callcenter.queue_log, first_ids).finished()
    assert cut, "the SIGKILL cut no call off"
    with Session(kpi_api.engine) as session:
        rows = {r.linkedid: r for r in session.exec(select(Call)).all()}
    assert {rows[u].outcome for u in cut} <= {"cut_off", "answered"}

    supervisor = kpi_api.token(Role.supervisor)
    live = api_get(kpi_api, "/stats/live", supervisor)
    assert live["waiting"] == []
    officers = {a["agent"]: a["state"] for a in live["agents"]}
    assert not [a for a, state in officers.items() if state in ("on_call", "ringing")]
    assert officers.get("petugas-1001") in ("available", "paused")

    assert_equal_to_queue_log(sandbox, kpi_api, queued, start, end)
    # The callers cut off while waiting are offered a callback.
    waiting_cut = {rows[u].caller for u in cut if rows[u].outcome == "cut_off"}
    listed = api_get(kpi_api, "/callbacks", kpi_api.token(Role.agent))
    assert waiting_cut <= {c["number"] for c in listed}
