"""The live view's officers come from Asterisk, not from whichever events the collector saw.

The officers joined the queue when the sandbox started, long before this test's collector;
then the collector is killed and started again mid-call, an officer pauses while it is
away, a call ends while it is away, and a caller joins the queue while it is away. After
every restart, /stats/live must match Asterisk (issue #21).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.core.auth import Role
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrServer, event, wait_until
from tests.e2e.kpi_support import CollectorProcess, api_get
from tests.e2e.services import ApiProcess, fresh_api_process

pytestmark = pytest.mark.e2e

TO_OFFICER = "wait:1|dtmf:0"
TALK_SECONDS = 20
CALL_TIMEOUT = 60.0


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[ApiProcess]:
    """An API on its own new database: it has seen no event of these officers at all."""
    with fresh_api_process(tmp_path / "api.log") as process:
        yield process


@pytest.fixture
def officers(sandbox: Sandbox) -> Iterator[list[str]]:
    """Both officers in the queue and unpaused, with long calls; put back afterwards."""
    agents = list(sandbox.config.agents[:2])
    for agent in agents:
        sandbox.add_member(agent)
        sandbox.callcenter.rx(f"queue unpause member PJSIP/{agent} queue {QUEUE}")
    sandbox.carrier.rx(f"dialplan set global AGENT_TALK_SECONDS {TALK_SECONDS}")
    try:
        yield [f"petugas-{agent}" for agent in agents]
    finally:
        sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 3")
        for agent in agents:
            sandbox.callcenter.rx(f"queue unpause member PJSIP/{agent} queue {QUEUE}")


def states(api: ApiProcess, token: str) -> dict[str, tuple[str, str | None]]:
    view: dict[str, Any] = api_get(api, "/stats/live", token)
    return {a["agent"]: (a["state"], a["reason"]) for a in view["agents"]}


def waiting_callers(api: ApiProcess, token: str) -> list[str]:
    view: dict[str, Any] = api_get(api, "/stats/live", token)
    return [c["caller"] for c in view["waiting"]]


async def until_live(
    api: ApiProcess, token: str, want: dict[str, tuple[str, str | None]], timeout: float = 15
) -> None:
    def matches() -> bool:
        got = states(api, token)
        return all(got.get(name) == state for name, state in want.items())

    if not await wait_until(matches, timeout, interval=0.3):
        raise AssertionError(f"live view {states(api, token)}, expected {want}")


async def test_officers_from_before_the_collector_and_across_its_restarts(
    sandbox: Sandbox,
    ivr_server: IvrServer,
    live_api: ApiProcess,
    officers: list[str],
    tmp_path: Path,
) -> None:
    token = live_api.token(Role.supervisor)
    collector = CollectorProcess(sandbox, live_api, tmp_path)
    await asyncio.to_thread(collector.start)
    try:
        # They joined long before this collector: only Asterisk's snapshot knows them.
        await until_live(live_api, token, {name: ("available", None) for name in officers})

        async with await sandbox.connect_ami() as ami:
            caller = random_caller()
            connected = event(ami, "AgentConnect", CALL_TIMEOUT, CallerIDNum=caller)
            completed = event(ami, "AgentComplete", CALL_TIMEOUT, CallerIDNum=caller)
            await sandbox.place_call(LINE, caller, TO_OFFICER)
            answering = (await connected)["MemberName"]
            other = next(name for name in officers if name != answering)
            await until_live(live_api, token, {answering: ("on_call", None)})

            # The collector dies mid-call; meanwhile the other officer pauses.
            await asyncio.to_thread(collector.kill)
            interface = "PJSIP/" + other.removeprefix("petugas-")
            out = sandbox.callcenter.rx(
                f"queue pause member {interface} queue {QUEUE} reason istirahat"
            )
            assert "paused" in out.lower(), out
            await asyncio.to_thread(collector.start)
            await until_live(
                live_api,
                token,
                {answering: ("on_call", None), other: ("paused", "istirahat")},
            )
            await completed
            await until_live(live_api, token, {answering: ("available", None)})

            # A call that ends while no collector listens.
            caller = random_caller()
            connected = event(ami, "AgentConnect", CALL_TIMEOUT, CallerIDNum=caller)
            completed = event(ami, "AgentComplete", CALL_TIMEOUT, CallerIDNum=caller)
            await sandbox.place_call(LINE, caller, TO_OFFICER)
            assert (await connected)["MemberName"] == answering  # the other one is paused
            await until_live(live_api, token, {answering: ("on_call", None)})
            await asyncio.to_thread(collector.kill)
            await completed
            await asyncio.to_thread(collector.start)
            await until_live(
                live_api,
                token,
                {answering: ("available", None), other: ("paused", "istirahat")},
            )

            # A caller who joins the queue while no collector listens (nobody free).
            mine = "PJSIP/" + answering.removeprefix("petugas-")
            sandbox.callcenter.rx(f"queue pause member {mine} queue {QUEUE} reason rapat")
            await until_live(live_api, token, {answering: ("paused", "rapat")})
            await asyncio.to_thread(collector.kill)
            caller = random_caller()
            joined = event(ami, "QueueCallerJoin", CALL_TIMEOUT, CallerIDNum=caller)
            connected = event(ami, "AgentConnect", CALL_TIMEOUT, CallerIDNum=caller)
            await sandbox.place_call(LINE, caller, TO_OFFICER)
            await joined
            await asyncio.to_thread(collector.start)
            waiting = await wait_until(lambda: waiting_callers(live_api, token), 15, 0.3)
            assert waiting == [caller]
            sandbox.callcenter.rx(f"queue unpause member {mine} queue {QUEUE}")
            await connected
            assert await wait_until(lambda: not waiting_callers(live_api, token), 15, 0.3)
    finally:
        await asyncio.to_thread(collector.stop)
