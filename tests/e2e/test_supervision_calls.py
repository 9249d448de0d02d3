"""Listen, whisper and barge against the real sandbox: a citizen's queue call answered on
an officer's carrier phone, and a supervisor whose carrier phone the API rings into
ChanSpy. What each party hears is recorded on the carrier (MixMonitor of what each phone
receives) while the test makes one party speak (a steady tone) and the others keep quiet:

- listen: the supervisor hears the citizen;
- whisper: the officer hears the supervisor, the citizen hears nothing;
- barge: the officer hears the supervisor (the citizen too, but not reliably while the
  call is recorded: see the barge step).
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from sandbox.ami import AMIClient, Message
from sandbox.harness import CARRIER_AMI_USER, Sandbox
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import add_officer, add_supervisor, event, login
from tests.e2e.services import ApiProcess

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 60.0
# Seconds each party's hearing is recorded once the supervisor is in the call.
HEARING_SECONDS = 3.0
# sox's RMS amplitude: a steady tone is about 0.3-0.5 here; silence is 0.
HEARD = 0.02


def rms(path: Path) -> float:
    """The RMS amplitude of a recording, as sox measures it."""
    assert path.is_file(), f"no recording {path}"
    stat = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True)
    for line in stat.stderr.splitlines():
        if line.startswith("RMS     amplitude:"):
            return float(line.split(":")[1])
    raise AssertionError(f"sox gave no RMS amplitude for {path}: {stat.stderr}")


class Carrier:
    """The carrier's AMI: who speaks, and recordings of what a phone hears."""

    def __init__(self, ami: AMIClient, sandbox: Sandbox) -> None:
        self.ami = ami
        self.sandbox = sandbox

    async def say(self, channel: str, speaking: bool) -> None:
        """Move ``channel`` to the speak or hush context, and wait until it runs there (a
        second Redirect while the first is still moving it is refused)."""
        context = "speak" if speaking else "hush"
        start = len(self.ami.events)
        reply = await self.ami.action(
            "Redirect", Channel=channel, Context=context, Exten="s", Priority="1"
        )
        assert reply.get("Response") == "Success", reply

        def arrived(message: Message) -> bool:
            return (
                message.get("Event") == "Newexten"
                and message.get("Channel") == channel
                and message.get("Context") == context
                and any(m is message for m in self.ami.events[start:])
            )

        await self.ami.wait_for(arrived, CALL_TIMEOUT)

    @asynccontextmanager
    async def hearing(self, channels: dict[str, str], tag: str) -> AsyncIterator[dict[str, Path]]:
        """Record what each named channel receives (MixMonitor's r() of it) while the
        block runs, then for HEARING_SECONDS more."""
        files = {}
        for who, channel in channels.items():
            name = f"spool/{tag}-{who}-{secrets.token_hex(3)}"
            files[who] = self.sandbox.carrier.host(f"{name}-heard.wav")
            reply = await self.ami.action(
                "MixMonitor",
                Channel=channel,
                File=self.sandbox.carrier.path(f"{name}-both.wav"),
                Options=f"r({self.sandbox.carrier.path(name + '-heard.wav')})",
            )
            assert reply.get("Response") == "Success", reply
        yield files
        await asyncio.sleep(HEARING_SECONDS)
        for channel in channels.values():
            await self.ami.action("StopMixMonitor", Channel=channel)

    async def hang_up(self, channel: str) -> None:
        await self.ami.action("Hangup", Channel=channel)


async def supervise(
    api: httpx.AsyncClient, headers: dict[str, str], officer: str, mode: str
) -> dict[str, str]:
    response = await api.post(
        "/supervision", json={"officer": officer, "mode": mode}, headers=headers
    )
    assert response.status_code == 200, response.text
    entry: dict[str, str] = response.json()
    return entry


async def on_a_call(api: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Until the API has stored that this officer answered (the collector delivered it)."""
    for _ in range(120):
        if (await api.get("/agents/me/current-call", headers=headers)).status_code == 200:
            return
        await asyncio.sleep(0.5)
    raise AssertionError("the API never saw the officer answer")


async def test_a_supervisor_listens_whispers_and_barges(
    sandbox: Sandbox, console: ApiProcess, long_talks: None, tmp_path: Path
) -> None:
    officer_phone, supervisor_phone = sandbox.config.agents[:2]
    officer = f"spy{secrets.token_hex(3)}"
    supervisor = f"sup{secrets.token_hex(3)}"
    add_officer(console, officer, officer_phone)
    add_supervisor(console, supervisor, supervisor_phone)
    collector = CollectorProcess(sandbox, console, tmp_path)
    collector.start()
    caller = random_caller()
    try:
        async with (
            httpx.AsyncClient(base_url=console.url, timeout=60) as api,
            await sandbox.connect_ami() as ami,
            await AMIClient.connect(
                "127.0.0.1",
                sandbox.config.carrier_ami_port,
                CARRIER_AMI_USER,
                sandbox.secrets.carrier,
            ) as carrier_ami,
        ):
            carrier = Carrier(carrier_ami, sandbox)
            officer_headers = await login(api, officer)
            boss = await login(api, supervisor)
            assert (await api.post("/agents/me/login", headers=officer_headers)).status_code == 200
            await ami.wait_for(event("QueueMemberAdded", MemberName=officer), CALL_TIMEOUT)

            # No IVR runs here: the citizen's call goes straight to the queue.
            placed = asyncio.create_task(sandbox.place_call(LINE, caller))
            connected = await ami.wait_for(event("AgentConnect", MemberName=officer), CALL_TIMEOUT)
            answered: Message = await placed
            citizen = answered["Channel"]
            officer_leg = (
                await carrier_ami.wait_for(event("Newchannel", Exten=officer_phone), CALL_TIMEOUT)
            )["Channel"]
            await on_a_call(api, officer_headers)
            # Both phones send (silent) audio, as real phones do.
            await carrier.say(officer_leg, speaking=False)
            await carrier.say(citizen, speaking=False)

            # Listen: the citizen speaks; the supervisor hears it.
            await carrier.say(citizen, speaking=True)
            entry = await supervise(api, boss, officer, "listen")
            boss_leg = await supervisor_leg(carrier_ami, supervisor_phone, 1)
            async with carrier.hearing({"supervisor": boss_leg}, "listen") as heard:
                pass
            assert rms(heard["supervisor"]) > HEARD
            await carrier.say(citizen, speaking=False)
            await carrier.hang_up(boss_leg)
            await spy_ended(ami, supervisor_phone, 1)

            # Whisper: the supervisor speaks; the officer hears it, the citizen doesn't.
            await supervise(api, boss, officer, "whisper")
            boss_leg = await supervisor_leg(carrier_ami, supervisor_phone, 2)
            legs = {"officer": officer_leg, "citizen": citizen}
            async with carrier.hearing(legs, "whisper") as heard:
                await carrier.say(boss_leg, speaking=True)
            assert rms(heard["officer"]) > HEARD
            assert rms(heard["citizen"]) < HEARD / 4
            await carrier.hang_up(boss_leg)
            await spy_ended(ami, supervisor_phone, 2)

            # Barge: the supervisor speaks; the officer and the citizen both hear it.
            await supervise(api, boss, officer, "barge")
            boss_leg = await supervisor_leg(carrier_ami, supervisor_phone, 3)
            async with carrier.hearing(legs, "barge") as heard:
                await carrier.say(boss_leg, speaking=True)
            assert rms(heard["officer"]) > HEARD
            assert rms(heard["citizen"]) > HEARD
            await carrier.hang_up(boss_leg)
            await spy_ended(ami, supervisor_phone, 3)

            log = (await api.get("/supervision/log", headers=boss)).json()
            mine = [e for e in log if e["officer"] == officer]
            assert [e["mode"] for e in mine] == ["barge", "whisper", "listen"]
            assert {e["outcome"] for e in mine} == {"connected"}
            assert {e["linkedid"] for e in mine} == {connected["Linkedid"]}
            assert entry["supervisor"] == supervisor
    finally:
        collector.stop()


async def spy_ended(ami: AMIClient, phone: str, nth: int) -> None:
    """Until the call center's side of the ``nth`` supervisor call (its ChanSpy) has hung
    up: the next mode starts on a call no spy is still leaving."""
    ended = 0

    def counted(message: Message) -> bool:
        nonlocal ended
        channel = message.get("Channel", "")
        if message.get("Event") == "Hangup" and channel.startswith(f"PJSIP/{phone}-"):
            ended += 1
        return ended == nth

    await ami.wait_for(counted, CALL_TIMEOUT)


async def supervisor_leg(carrier: AMIClient, phone: str, nth: int) -> str:
    """The carrier channel of the ``nth`` call to the supervisor's phone in this test."""
    legs: list[str] = []

    def new_leg(message: Message) -> bool:
        if message.get("Event") == "Newchannel" and message.get("Exten") == phone:
            legs.append(message["Channel"])
        return len(legs) == nth

    await carrier.wait_for(new_leg, CALL_TIMEOUT)
    return legs[-1]
