"""The agents' console against the real sandbox: queue login, pause and logout go from the
API to Asterisk over AMI, calls follow them, and /stats/live shows the pause reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.core.auth import Role
from ivr import Channel, FastAGIServer
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import event, login, officers_api
from tests.e2e.services import ApiProcess

pytestmark = pytest.mark.e2e
LINE = "082282204761"
EVENT_TIMEOUT = 45


async def straight_to_queue(channel: Channel) -> None:
    """A minimal IVR: these tests are about the queue, not the menus."""
    await channel.answer()


@pytest.fixture
async def ivr(sandbox: Sandbox) -> AsyncIterator[None]:
    server = FastAGIServer(
        {"greet": straight_to_queue, "call": straight_to_queue},
        host=sandbox.config.agi_host,
        port=sandbox.config.agi_port,
    )
    await server.start()
    try:
        yield
    finally:
        await server.close()


@pytest.fixture
def console_api(sandbox: Sandbox, tmp_path: Path) -> Iterator[ApiProcess]:
    """An API process whose AMI control user is the sandbox's, with officer siti on 1001."""
    with officers_api(sandbox, tmp_path / "api.log", "siti") as process:
        yield process


@pytest.fixture
def only_siti(sandbox: Sandbox) -> Iterator[None]:
    """Nobody in the queue but what the test logs in; the sandbox's officers come back after."""
    for agent in sandbox.config.agents:
        sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
    try:
        yield
    finally:
        for agent in sandbox.config.agents:
            sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
            sandbox.add_member(agent)


async def test_login_pause_and_logout_drive_the_real_queue(
    sandbox: Sandbox, ivr: None, console_api: ApiProcess, only_siti: None, tmp_path: Path
) -> None:
    collector = CollectorProcess(sandbox, console_api, tmp_path)
    collector.start()
    supervisor = {"Authorization": f"Bearer {console_api.token(Role.supervisor)}"}
    try:
        async with httpx.AsyncClient(base_url=console_api.url, timeout=15) as api:
            siti = await login(api, "siti")
            async with await sandbox.connect_ami() as ami:
                joined = await api.post("/agents/me/login", headers=siti)
                assert joined.json()["state"] == "logged_in"
                await ami.wait_for(event("QueueMemberAdded", MemberName="siti"), EVENT_TIMEOUT)

                first = random_caller()
                await sandbox.place_call(LINE, first)
                call = await ami.wait_for(
                    event("QueueCallerJoin", CallerIDNum=first), EVENT_TIMEOUT
                )
                answered = await ami.wait_for(
                    event("AgentConnect", Uniqueid=call["Uniqueid"]), EVENT_TIMEOUT
                )
                assert answered["MemberName"] == "siti"
                assert answered["Interface"] == f"PJSIP/{sandbox.config.agents[0]}"
                await ami.wait_for(event("AgentComplete", Uniqueid=call["Uniqueid"]), EVENT_TIMEOUT)

                paused = await api.post(
                    "/agents/me/pause", headers=siti, json={"reason": "istirahat"}
                )
                assert paused.json()["reason"] == "istirahat"
                await ami.wait_for(
                    event("QueueMemberPause", MemberName="siti", Paused="1"), EVENT_TIMEOUT
                )
                second = random_caller()
                await sandbox.place_call(LINE, second)
                waiting = await ami.wait_for(
                    event("QueueCallerJoin", CallerIDNum=second), EVENT_TIMEOUT
                )
                live = await wait_for_live(api, supervisor, second)
                assert {"agent": "siti", "state": "paused", "reason": "istirahat"} in live["agents"]
                # Paused, siti was never offered the waiting call.
                assert not any(
                    e.get("Event") == "AgentCalled" and e.get("Uniqueid") == waiting["Uniqueid"]
                    for e in ami.events
                )

                await api.post("/agents/me/unpause", headers=siti)
                resumed = await ami.wait_for(
                    event("AgentConnect", Uniqueid=waiting["Uniqueid"]), EVENT_TIMEOUT
                )
                assert resumed["MemberName"] == "siti"
                await ami.wait_for(
                    event("AgentComplete", Uniqueid=waiting["Uniqueid"]), EVENT_TIMEOUT
                )

                left = await api.post("/agents/me/logout", headers=siti)
                assert left.json()["state"] == "logged_out"
                await ami.wait_for(event("QueueMemberRemoved", MemberName="siti"), EVENT_TIMEOUT)
    finally:
        collector.stop()
        sandbox.callcenter.rx(f"queue remove member PJSIP/{sandbox.config.agents[0]} from {QUEUE}")


async def wait_for_live(api: httpx.AsyncClient, headers: dict[str, str], caller: str) -> Any:
    """/stats/live once it shows ``caller`` waiting (the collector delivers in batches)."""
    for _ in range(60):
        live = (await api.get("/stats/live", headers=headers)).json()
        if any(w["caller"] == caller for w in live["waiting"]):
            return live
        await asyncio.sleep(0.5)
    raise AssertionError(f"/stats/live never showed {caller} waiting: {live}")
