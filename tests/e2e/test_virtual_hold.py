"""Virtual hold with real calls: three callers and one callback, one officer. The caller
who chose the callback keeps their place: the API's dialer puts a placeholder in the
queue, the officer gets everyone in the order they joined, and when the placeholder's
turn comes the citizen is rung automatically (the carrier answers) and the callback is
recorded as reached."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from api.callbacks.hold import CallbackHold
from api.core.auth import Role
from api.events.models import Call
from sandbox.ami import AMIClient, Message
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, user_event
from tests.e2e.kpi_support import CollectorProcess, running_collector
from tests.e2e.officers import control_env, event
from tests.e2e.services import ApiProcess, fresh_api_process
from tests.e2e.test_asterisk_restart import sigkill_and_start_again
from tests.e2e.test_callback_dial import BUSY_PREFIX, recorded, request_callback
from tests.e2e.test_kpi_faults import assert_equal_to_queue_log, finished, queued_uniqueids
from tests.e2e.test_kpi_truth import all_delivered, next_second, relog_agents, rx, wait_until

pytestmark = pytest.mark.e2e

CALLBACK_WAIT = 3
TIMEOUT = 180.0
# 0 at the greeting (straight to the queue); the offer comes after CALLBACK_WAIT.
TO_QUEUE = "wait:1|dtmf:0"
# 1 pressed every 3 s: the first inside the offer's answer window accepts (as in
# test_ivr_callback.py).
ACCEPT = TO_QUEUE + "|wait:8" + "|dtmf:1|wait:3" * 10
# Seconds between callers: far more than the spread of the offer's timing, so the order
# in which they re-enter the queue is the order they joined.
SPACING = 12


@pytest.fixture
def dialer_api(sandbox: Sandbox, tmp_path: Path) -> Iterator[ApiProcess]:
    env = {
        **control_env(sandbox, dialer=True),
        "LAPOR_API_CALLBACK_DIALER_SECONDS": "1",
        # One attempt per callback within a test: a retry comes an hour later.
        "LAPOR_API_CALLBACK_RETRY_MINUTES": "[60]",
    }
    with fresh_api_process(tmp_path / "api.log", env) as process:
        yield process


@pytest.fixture
def collector(
    sandbox: Sandbox, dialer_api: ApiProcess, tmp_path: Path
) -> Iterator[CollectorProcess]:
    with running_collector(sandbox, dialer_api, tmp_path) as process:
        yield process


@pytest.fixture
def one_paused_officer(sandbox: Sandbox) -> Iterator[str]:
    """Only the first officer in the queue, paused until the test lets calls through."""
    first, *others = sandbox.config.agents
    for agent in others:
        sandbox.callcenter.rx(f"queue remove member PJSIP/{agent} from {QUEUE}")
    sandbox.add_member(first)
    sandbox.callcenter.rx(f"queue pause member PJSIP/{first} queue {QUEUE}")
    try:
        yield first
    finally:
        sandbox.callcenter.rx(f"queue unpause member PJSIP/{first} queue {QUEUE}")
        for agent in others:
            sandbox.add_member(agent)


def joined(caller: str, times: int) -> Any:
    def match(events: list[Message]) -> bool:
        return sum(1 for m in events if event("QueueCallerJoin", CallerIDNum=caller)(m)) >= times

    return match


async def until(ami: AMIClient, check: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not check(ami.events):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.5)


async def callback_of(api: httpx.AsyncClient, headers: dict[str, str], number: str) -> Any:
    for _ in range(240):
        items = (await api.get("/callbacks", params={"number": number}, headers=headers)).json()
        if items:
            return items[0]
        await asyncio.sleep(0.5)
    raise AssertionError(f"no callback request from {number}")


async def closed(api: httpx.AsyncClient, headers: dict[str, str], callback: str) -> Any:
    """The callback once the dialer took its outcome in (the outcome itself shows a little
    earlier: every read settles it; the dialer's next tick closes the hold)."""
    for _ in range(240):
        item = (await api.get(f"/callbacks/{callback}", headers=headers)).json()
        if item["outcome"] is not None and item["hold"] != "in_queue":
            return item
        await asyncio.sleep(0.5)
    raise AssertionError(f"callback not closed: {item}")


async def test_callers_and_a_callback_are_served_in_joining_order(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    dialer_api: ApiProcess,
    collector: CollectorProcess,
    one_paused_officer: str,
) -> None:
    settings = replace(
        ivr_node.settings,
        api_url=dialer_api.url,
        api_token=dialer_api.token(Role.ivr, name="e2e-vhold-ivr"),
        callback_wait_seconds=CALLBACK_WAIT,
    )
    server = IvrServer(ivr_node, settings)
    await server.start()
    first, citizen, third, fourth = (random_caller() for _ in range(4))
    scripts = {first: TO_QUEUE, citizen: ACCEPT, third: TO_QUEUE, fourth: TO_QUEUE}
    supervisor = {"Authorization": f"Bearer {dialer_api.token(Role.supervisor)}"}
    try:
        async with (
            httpx.AsyncClient(base_url=dialer_api.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
            await sandbox.connect_carrier_ami() as carrier,
        ):
            accepted = user_event(ami, "LaporCallback", citizen, TIMEOUT)
            for caller, script in scripts.items():
                await sandbox.place_call(LINE, caller, script)
                await asyncio.sleep(SPACING)
            await accepted
            # Everyone back in the queue after the offer: the three who declined it, and
            # the placeholder for the one who accepted (the citizen's number as caller).
            for caller in (first, third, fourth):
                await until(ami, joined(caller, 2), f"{caller} to re-enter the queue")
            await until(ami, joined(citizen, 2), "the placeholder to join the queue")
            item = await callback_of(api, supervisor, citizen)
            assert (item["hold"], item["claimed_by"]) == ("in_queue", "antrean")

            sandbox.callcenter.rx(f"queue unpause member PJSIP/{one_paused_officer} queue {QUEUE}")
            served: list[str] = []
            for _ in scripts:
                await until(
                    ami,
                    lambda events: (
                        sum(1 for m in events if m.get("Event") == "AgentConnect") > len(served)
                    ),
                    "the officer to take the next call",
                )
                connects = [m for m in ami.events if m.get("Event") == "AgentConnect"]
                served.append(connects[len(served)]["CallerIDNum"])
            reported = await ami.wait_for(
                event("UserEvent", UserEvent="LaporCallbackDial", Callback=item["id"]), TIMEOUT
            )
            await carrier.wait_for(event("Newchannel", Exten=citizen), TIMEOUT)
            done = await closed(api, supervisor, item["id"])
    finally:
        await server.close()

    assert served == [first, citizen, third, fourth]
    assert reported["DialStatus"] == "ANSWER"
    assert reported["Linkedid"].startswith(f"vh-{item['id']}-")
    assert (done["outcome"], done["attempts"], done["claimed_by"], done["hold"]) == (
        "reached",
        1,
        None,
        "reached",
    )


async def test_kpis_equal_queue_log_with_callbacks_in_play(
    sandbox: Sandbox,
    quiet_call_center: None,
    ivr_server: IvrServer,
    dialer_api: ApiProcess,
    collector: CollectorProcess,
) -> None:
    """Two live callers and two callbacks (one citizen answers, one is busy), one officer
    (the other paused throughout): the placeholders are calls in queue_log (callid
    ``vh-…-q``), and every figure of /stats equals queue_log's, with one call row per
    queued call."""
    officer = sandbox.config.agents[0]
    await relog_agents(sandbox)
    for agent in sandbox.config.agents:
        await rx(sandbox, f"queue pause member PJSIP/{agent} queue {QUEUE}")
    live = [random_caller(), random_caller()]
    reached, busy = random_caller(), BUSY_PREFIX + random_caller()[-5:]
    ivr = {"Authorization": f"Bearer {dialer_api.token(Role.ivr)}"}
    supervisor = {"Authorization": f"Bearer {dialer_api.token(Role.supervisor)}"}
    start = await next_second()
    try:
        async with (
            httpx.AsyncClient(base_url=dialer_api.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
        ):
            for caller in live:
                await sandbox.place_call(LINE, caller, TO_QUEUE)
            callbacks = [await request_callback(api, ivr, number) for number in (reached, busy)]
            for caller in [*live, reached, busy]:
                await until(ami, joined(caller, 1), f"{caller} to join the queue")
            await rx(sandbox, f"queue unpause member PJSIP/{officer} queue {QUEUE}")
            queued = {*live, reached, busy}
            await wait_until(
                lambda: finished(sandbox, queued), 240, "every queued call to end in queue_log"
            )
            await wait_until(
                lambda: all_delivered(dialer_api, queued), 180, "every call's end delivered"
            )
            outcomes = [
                (await recorded(api, supervisor, callback))["outcome"] for callback in callbacks
            ]
        end = await next_second()
    finally:
        for agent in sandbox.config.agents:
            await rx(sandbox, f"queue unpause member PJSIP/{agent} queue {QUEUE}")

    assert outcomes == ["reached", "busy"]
    ids = queued_uniqueids(sandbox, queued)
    assert {ids[reached], ids[busy]} == {
        f"{link}-q" for link in placeholder_linkedids(dialer_api, {reached, busy})
    }
    assert_equal_to_queue_log(sandbox, dialer_api, queued, start, end)


def placeholder_linkedids(api: ApiProcess, numbers: set[str]) -> set[str]:
    with Session(api.engine) as session:
        rows = session.exec(select(Call).where(col(Call.caller).in_(list(numbers)))).all()
        return {row.linkedid for row in rows}


async def test_a_placeholder_survives_api_and_asterisk_restarts(
    sandbox: Sandbox,
    dialer_api: ApiProcess,
    collector: CollectorProcess,
    one_paused_officer: str,
) -> None:
    """An API restart finds the waiting placeholder and places no second one; an Asterisk
    restart drops it, and the dialer places it again without counting an attempt; the
    citizen is then reached."""
    citizen = random_caller()
    ivr = {"Authorization": f"Bearer {dialer_api.token(Role.ivr)}"}
    supervisor = {"Authorization": f"Bearer {dialer_api.token(Role.supervisor)}"}
    async with (
        httpx.AsyncClient(base_url=dialer_api.url, timeout=30) as api,
        await sandbox.connect_ami() as ami,
    ):
        callback = await request_callback(api, ivr, citizen)
        first = await ami.wait_for(event("QueueCallerJoin", CallerIDNum=citizen), TIMEOUT)
        await asyncio.to_thread(dialer_api.stop)
        await asyncio.to_thread(dialer_api.start)
        # The restarted dialer ticks every second: give it several.
        await asyncio.sleep(5)
        item = (await api.get(f"/callbacks/{callback}", headers=supervisor)).json()
    joins = [m for m in ami.events if event("QueueCallerJoin", CallerIDNum=citizen)(m)]
    assert [m["Linkedid"] for m in joins] == [first["Linkedid"]]
    assert first["Linkedid"].startswith(f"vh-{callback}-")
    assert (item["hold"], item["claimed_by"], item["attempts"]) == ("in_queue", "antrean", 0)

    await sigkill_and_start_again(sandbox)

    def placed_again() -> bool:
        with Session(dialer_api.engine) as session:
            hold = session.get(CallbackHold, callback)
            return hold is not None and hold.placeholder not in (None, first["Linkedid"])

    await wait_until(placed_again, TIMEOUT, "the placeholder to be placed again")
    for agent in sandbox.config.agents:
        await rx(sandbox, f"queue unpause member PJSIP/{agent} queue {QUEUE}")
    async with httpx.AsyncClient(base_url=dialer_api.url, timeout=30) as api:
        done = await closed(api, supervisor, callback)
    assert (done["outcome"], done["attempts"], done["hold"]) == ("reached", 1, "reached")
    with Session(dialer_api.engine) as session:
        gone = session.exec(select(Call).where(Call.linkedid == first["Linkedid"])).one()
    assert (gone.outcome, gone.answered_at) == ("cut_off", None)
