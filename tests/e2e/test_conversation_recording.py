"""Every officer-citizen conversation recorded, against the real sandbox: a citizen who
asks for an officer hears the recording notice before the queue, an officer's carrier
phone answers and speaks while the citizen speaks, MixMonitor writes the conversation
(both parties, and each alone), the collector tells the API, and the API serves it to the
officer and a supervisor, refuses others, and logs the playback for the admins."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from api.core.auth import Role
from sandbox.harness import QUEUE, Sandbox
from tests.e2e.browser import chromium_page, sign_in
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import LINE, IvrNode, IvrServer, event, user_event, wait_until
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.officers import add_officer, login
from tests.e2e.officers import event as matching
from tests.e2e.services import ApiProcess
from tests.people import add_agent

pytestmark = pytest.mark.e2e
CALL_TIMEOUT = 120.0
NOTICE = "lapor/rekaman-pemberitahuan"
# sox's "RMS amplitude" of digital silence is 0; speech from espeak is far above this.
SPEAKING = 0.01


def citizen_script(node: IvrNode) -> str:
    """0 (to an officer), then talking all along: whatever part of it the bridge holds."""
    return "wait:1|dtmf:0|" + "|".join([f"play:{node.speech['keluhan-panjang']}"] * 8)


def rms(path: Path) -> float | None:
    """The RMS amplitude of a sound file (sox ``stat``, which reports on stderr); None
    while there is no such file or sox can't read it."""
    if not path.exists():
        return None
    done = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True)
    found = re.search(r"RMS\s+amplitude:\s+([0-9.]+)", done.stderr)
    return float(found.group(1)) if found else None


def levels(legs: dict[str, Path]) -> dict[str, float | None]:
    return {leg: rms(path) for leg, path in legs.items()}


def all_closed(legs: dict[str, Path]) -> bool:
    return all(level is not None for level in levels(legs).values())


def dialplan_steps(sandbox: Sandbox, channel: str) -> list[str]:
    """The applications the call center ran on ``channel``, in order (its verbose log)."""
    log = (sandbox.callcenter.host("log") / "messages.log").read_text(errors="replace")
    pattern = re.compile(r'Executing \[[^\]]*\] (\w+)\("' + re.escape(channel) + r'", "([^"]*)')
    return [f"{app}({data.split(',')[0]})" for app, data in pattern.findall(log)]


@pytest.fixture
def speaking_officer(sandbox: Sandbox, ivr_node: IvrNode, long_talks: None) -> Iterator[str]:
    """Officers' phones speak once answered and hang up soon after; no one is in the
    queue but whom the test adds (``long_talks`` puts everything back). Yields the first
    officer's phone."""
    sandbox.carrier.rx(f"dialplan set global AGENT_SPEECH {ivr_node.speech['petugas']}")
    sandbox.carrier.rx("dialplan set global AGENT_TALK_SECONDS 2")
    try:
        yield sandbox.config.agents[0]
    finally:
        sandbox.carrier.rx("dialplan set global AGENT_SPEECH silent")


async def test_the_conversation_is_recorded_served_and_audited(
    sandbox: Sandbox,
    ivr_node: IvrNode,
    ivr_server: IvrServer,
    console: ApiProcess,
    speaking_officer: str,
    tmp_path: Path,
) -> None:
    username = f"rekam{secrets.token_hex(3)}"
    add_officer(console, username, speaking_officer)
    collector = CollectorProcess(sandbox, console, tmp_path)
    collector.start()
    try:
        async with (
            httpx.AsyncClient(base_url=console.url, timeout=30) as api,
            await sandbox.connect_ami() as ami,
        ):
            officer = await login(api, username)
            assert (await api.post("/agents/me/login", headers=officer)).status_code == 200
            await ami.wait_for(matching("QueueMemberAdded", MemberName=username), CALL_TIMEOUT)

            caller = random_caller()
            reported = user_event(ami, "LaporRecording", caller, CALL_TIMEOUT)
            await sandbox.place_call(LINE, caller, citizen_script(ivr_node))
            joined = await ami.wait_for(
                matching("QueueCallerJoin", CallerIDNum=caller), CALL_TIMEOUT
            )
            linkedid, channel = joined["Linkedid"], joined["Channel"]
            connected = await event(ami, "AgentConnect", CALL_TIMEOUT, Uniqueid=linkedid)
            assert connected["MemberName"] == username
            recording = await reported
            await event(ami, "Hangup", CALL_TIMEOUT, Uniqueid=linkedid)

            # The notice, then the queue: never a queue without it.
            steps = dialplan_steps(sandbox, channel)
            assert f"Playback({NOTICE})" in steps
            assert steps.index(f"Playback({NOTICE})") < steps.index(f"Queue({QUEUE})")

            file = f"call-{linkedid}.wav"
            assert recording["File"] == file
            assert recording["Agent"] == username
            folder = sandbox.recordings_dir
            legs = {
                "both": folder / file,
                "citizen": folder / f"call-{linkedid}-citizen.wav",
                "officer": folder / f"call-{linkedid}-officer.wav",
            }

            # MixMonitor closes its files as the channel goes; every party is heard.
            await wait_until(partial(all_closed, legs), CALL_TIMEOUT)
            heard = levels(legs)
            assert all(level is not None and level > SPEAKING for level in heard.values()), heard
            await api.post("/agents/me/logout", headers=officer)

            url = f"/calls/{linkedid}/recording"

            async def served() -> bool:
                return (await api.get(url, headers=officer)).status_code == 200

            for _ in range(int(CALL_TIMEOUT)):
                if await served():
                    break
                await asyncio.sleep(1)
            playback = await api.get(url, headers={**officer, "Range": "bytes=0-"})
            assert playback.status_code == 206
            assert playback.content == legs["both"].read_bytes()
            seek = await api.get(url, headers={**officer, "Range": "bytes=4000-"})
            assert seek.status_code == 206

            supervisor = {"Authorization": f"Bearer {console.token(Role.supervisor)}"}
            citizen = await api.get(url, params={"leg": "citizen"}, headers=supervisor)
            assert citizen.content == legs["citizen"].read_bytes()
            others = f"lain{secrets.token_hex(3)}"
            with Session(console.engine) as session:
                add_agent(session, others)
            refused = await api.get(url, headers=await login(api, others))
            assert refused.status_code == 403
            leader = {"Authorization": f"Bearer {console.token(Role.leadership)}"}
            assert (await api.get(url, headers=leader)).status_code == 403

            admin = {"Authorization": f"Bearer {console.token(Role.admin)}"}
            log = (await api.get("/audit/recordings", headers=admin)).json()
            mine = [row for row in log if row["subject"].endswith(f"/{linkedid}")]
            # The officer's check, their playback and the supervisor's: the seek is not one.
            assert sorted(row["username"] for row in mine if row["file"] == file) == [
                username,
                username,
            ]
            assert [row["role"] for row in mine if row["file"] == legs["citizen"].name] == [
                "supervisor"
            ]

            # The officer plays it in the console (the caller panel's player, in Chromium):
            # it plays, and that playback is in the audit log too.
            async with chromium_page("conversation-recording") as page:
                await sign_in(page, console.url, username)
                await page.goto(f"{console.url}/console/calls/{linkedid}")
                await page.evaluate("() => document.getElementById('conversation').play()")
                await page.wait_for_function(
                    "() => document.getElementById('conversation').currentTime > 1", timeout=20_000
                )
            log = (await api.get("/audit/recordings", headers=admin)).json()
            played = [
                row
                for row in log
                if row["subject"].endswith(f"/{linkedid}")
                and row["file"] == file
                and row["username"] == username
            ]
            assert len(played) > 2, played
    finally:
        collector.stop()
