"""Calling a citizen back through the API, against the real sandbox: the officer's carrier
phone rings and answers first, then the citizen's (through the trunk), and the outcome
the dialplan reports comes back through the collector onto the callback."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.core.auth import Role
from sandbox.ami import AMIClient, Message
from sandbox.harness import CARRIER_AMI_USER, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.kpi_support import CollectorProcess, running_collector
from tests.e2e.officers import event, login, officers_api
from tests.e2e.services import ApiProcess

pytestmark = pytest.mark.e2e
EVENT_TIMEOUT = 60
# sandbox/carrier/extensions.conf: citizens on 0899100xxxxx are always busy.
BUSY_PREFIX = "0899100"


@pytest.fixture
def api(sandbox: Sandbox, tmp_path: Path) -> Iterator[ApiProcess]:
    with officers_api(sandbox, tmp_path / "api.log", "siti") as process:
        yield process


@pytest.fixture
def collector(sandbox: Sandbox, api: ApiProcess, tmp_path: Path) -> Iterator[CollectorProcess]:
    with running_collector(sandbox, api, tmp_path) as process:
        yield process


async def request_callback(api: httpx.AsyncClient, ivr: dict[str, str], number: str) -> str:
    now = datetime.now(UTC).isoformat()
    body = {
        "request_id": f"e2e-{secrets.token_hex(8)}",
        "number": number,
        "line": "082282204761",
        "uniqueid": "1795890124.1",
        "queue_entered_at": now,
        "requested_at": now,
    }
    response = await api.post("/callbacks", json=body, headers=ivr)
    response.raise_for_status()
    return f"r{response.json()['id']}"


async def recorded(api: httpx.AsyncClient, headers: dict[str, str], callback: str) -> Any:
    """The callback once its attempt's outcome arrived (the collector delivers in batches)."""
    for _ in range(120):
        item = (await api.get(f"/callbacks/{callback}", headers=headers)).json()
        if item["outcome"] is not None:
            return item
        await asyncio.sleep(0.5)
    raise AssertionError(f"no outcome recorded: {item}")


def of_callback(callback: str) -> Any:
    prefix = f"cb-{callback}-"
    return lambda m: m.get("Linkedid", "").startswith(prefix)


async def test_callback_rings_the_officer_first_then_reaches_the_citizen(
    sandbox: Sandbox, api: ApiProcess, collector: CollectorProcess
) -> None:
    citizen = random_caller()
    officer_phone = sandbox.config.agents[0]
    async with (
        httpx.AsyncClient(base_url=api.url, timeout=60) as client,
        await sandbox.connect_ami() as callcenter,
        await AMIClient.connect(
            "127.0.0.1", sandbox.config.carrier_ami_port, CARRIER_AMI_USER, sandbox.secrets.carrier
        ) as carrier,
    ):
        siti = await login(client, "siti")
        ivr = {"Authorization": f"Bearer {api.token(Role.ivr)}"}
        callback = await request_callback(client, ivr, citizen)
        assert [i["id"] for i in (await client.get("/callbacks", headers=siti)).json()] == [
            callback
        ]

        dialled = await client.post(f"/callbacks/{callback}/dial", headers=siti)
        assert dialled.status_code == 200, dialled.text
        assert (dialled.json()["attempts"], dialled.json()["claimed_by"]) == (1, "siti")
        ours = of_callback(callback)
        ended = await callcenter.wait_for(
            lambda m: ours(m) and event("DialEnd", DialStatus="ANSWER")(m), EVENT_TIMEOUT
        )
        await callcenter.wait_for(
            lambda m: event("UserEvent", UserEvent="LaporCallbackDial", Callback=callback)(m),
            EVENT_TIMEOUT,
        )
        # Both legs are carrier endpoints, each answered there: the officer's phone and
        # the citizen's line behind the trunk.
        await carrier.wait_for(event("Newchannel", Exten=officer_phone), EVENT_TIMEOUT)
        await carrier.wait_for(event("Newchannel", Exten=citizen), EVENT_TIMEOUT)
        item = await recorded(client, siti, callback)
        listed = (await client.get("/callbacks", headers=siti)).json()

    events = [m for m in callcenter.events if ours(m)]
    officer_leg = ended["Channel"]
    citizen_leg = ended["DestChannel"]
    assert officer_leg.startswith(f"PJSIP/{officer_phone}-")
    assert citizen_leg.startswith("PJSIP/trunk-")
    officer_up = index_of(events, "Newstate", officer_leg, ChannelStateDesc="Up")
    citizen_created = index_of(events, "Newchannel", citizen_leg)
    citizen_up = index_of(events, "Newstate", citizen_leg, ChannelStateDesc="Up")
    assert officer_up < citizen_created < citizen_up
    [begin] = [m for m in events if event("DialBegin", DestChannel=citizen_leg)(m)]
    assert begin["DialString"] == f"{citizen}@trunk"
    assert (item["outcome"], item["attempts"], item["claimed_by"]) == ("reached", 1, None)
    assert callback not in [i["id"] for i in listed]  # reached: off the list


async def test_a_busy_citizen_is_recorded_as_busy(
    sandbox: Sandbox, api: ApiProcess, collector: CollectorProcess
) -> None:
    citizen = BUSY_PREFIX + "".join(secrets.choice("0123456789") for _ in range(5))
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        siti = await login(client, "siti")
        ivr = {"Authorization": f"Bearer {api.token(Role.ivr)}"}
        callback = await request_callback(client, ivr, citizen)
        dialled = await client.post(f"/callbacks/{callback}/dial", headers=siti)
        assert dialled.status_code == 200, dialled.text
        item = await recorded(client, siti, callback)
        assert (item["outcome"], item["attempts"], item["claimed_by"]) == ("busy", 1, None)
        # Not reached: still on the list for another attempt.
        listed = (await client.get("/callbacks", headers=siti)).json()
        assert callback in [i["id"] for i in listed]


def index_of(events: list[Message], name: str, channel: str, **fields: str) -> int:
    match = event(name, Channel=channel, **fields)
    return next(i for i, m in enumerate(events) if match(m))
