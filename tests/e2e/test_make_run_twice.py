"""``make run`` twice on one ``var/``, with complaints by phone each time (issue #21).

The product's own command path (``python -m sandbox.devrun``: the sandbox, the API on
SQLite, the IVR, the collector) runs two full start/stop cycles on one state folder; the
IVR spool is wiped in between, as if its volume were lost. Every first-run complaint must
keep its own recording byte for byte, no ticket may repeat, nothing may be set aside, and
the live view must show the officers, who joined the queue before the collector started.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.db import make_engine
from ivr.prompt_synthesis import synthesize
from sandbox.config import REPO_ROOT, SandboxConfig
from sandbox.harness import Sandbox
from tests.e2e.ivr_node import LINE, SPEECH, user_event, wait_until
from tests.e2e.services import free_port, free_slot

pytestmark = pytest.mark.e2e

OFFICERS = {"petugas-1001", "petugas-1002"}
START_TIMEOUT = 180.0
CALL_TIMEOUT = 120.0


@dataclass
class DevRun:
    """``make run``'s program as a subprocess on a given state folder and slot."""

    var: Path
    slot: int
    log: Path
    api_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "LAPOR_VAR_DIR": str(self.var),
            "LAPOR_SANDBOX_SLOT": str(self.slot),
            "LAPOR_API_PORT": str(self.api_port),
        }
        env.pop("LAPOR_API_DATABASE_URL", None)
        started = self.text().count("is running")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.devrun"],
                env=env,
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while self.text().count("is running") <= started:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"make run did not start:\n{self.text()[-6000:]}")
            time.sleep(0.5)

    def stop(self) -> int:
        """Ctrl-C, as a person stops it; the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=90)
        finally:
            self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def sandbox(self) -> Sandbox:
        """The running sandbox (its secrets from its state file), to place calls."""
        return Sandbox(SandboxConfig.from_env(self.slot), build=False, state_dir=self.var)


@pytest.fixture
def devrun(tmp_path: Path) -> Iterator[DevRun]:
    run = DevRun(tmp_path / "var", free_slot(), tmp_path / "make-run.log", free_port())
    try:
        yield run
    finally:
        run.kill()
        Sandbox(SandboxConfig.from_env(run.slot), build=False).down()


def supervisor(var: Path) -> dict[str, str]:
    engine = make_engine(f"sqlite:///{var}/lapor.db")
    try:
        with Session(engine) as session:
            token = create_token(session, name="e2e-supervisor", role=Role.supervisor)
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def get(run: DevRun, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = httpx.get(f"{run.api}{path}", params=params, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def complaints(run: DevRun, headers: dict[str, str], tickets: list[str]) -> list[Any]:
    """The stored complaints of these tickets, or [] until the API has them all."""
    found = []
    for ticket in tickets:
        response = httpx.get(f"{run.api}/complaints/{ticket}", headers=headers, timeout=10)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        found.append(response.json())
    return found


def speech(sandbox: Sandbox) -> str:
    """The citizen's words, on the carrier (its folder is new at every start)."""
    target = sandbox.carrier.host("sounds") / "keluhan.wav"
    synthesize(SPEECH["keluhan"], target)
    sandbox.give_to_asterisk(target)
    return sandbox.carrier.path("sounds/keluhan")


async def complain(run: DevRun, callers: list[str]) -> dict[str, str]:
    """Complaint calls on the main path, all at once; each caller's ticket as heard."""
    sandbox = run.sandbox()
    words = speech(sandbox)
    script = f"wait:2|dtmf:1|wait:1|dtmf:1|wait:6|play:{words}|dtmf:#|wait:1|dtmf:3"
    async with await sandbox.connect_ami() as ami:
        heard = {c: user_event(ami, "LaporTicket", c, CALL_TIMEOUT) for c in callers}
        for caller in callers:
            await sandbox.place_call(LINE, caller, script)
        try:
            await asyncio.gather(*heard.values())
        except TimeoutError:
            raise AssertionError(f"no ticket read back:\n{run.text()[-6000:]}") from None
    return {caller: event.result()["Ticket"] for caller, event in heard.items()}


async def officers_live(run: DevRun, headers: dict[str, str]) -> dict[str, str]:
    def logged_in() -> dict[str, str]:
        view = get(run, headers, "/stats/live")
        found = {a["agent"]: a["state"] for a in view["agents"] if a["state"] != "logged_out"}
        return found if set(found) >= OFFICERS else {}

    found: dict[str, str] = await wait_until(logged_in, timeout=30)
    return found


def recording(run: DevRun, headers: dict[str, str], ticket: str) -> bytes:
    response = httpx.get(f"{run.api}/complaints/{ticket}/recording", headers=headers, timeout=10)
    response.raise_for_status()
    return response.content


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_make_run_twice_keeps_every_complaint_its_recording_and_its_ticket(
    devrun: DevRun,
) -> None:
    # First run: the officers joined the queue before the collector started.
    await asyncio.to_thread(devrun.start)
    headers = supervisor(devrun.var)
    assert set(await officers_live(devrun, headers)) >= OFFICERS
    first = await complain(devrun, ["081211110001", "081211110002"])
    stored = await wait_until(lambda: complaints(devrun, headers, [*first.values()]), 60)
    assert len(stored) == 2
    first_audio = {s["ticket"]: recording(devrun, headers, s["ticket"]) for s in stored}
    assert all(len(audio) > 8000 for audio in first_audio.values())
    assert await asyncio.to_thread(devrun.stop) == 0
    for kept in ("lapor.db", "recordings", "ivr-spool", "collector"):
        assert (devrun.var / kept).exists(), kept
    assert sorted(p.name for p in (devrun.var / "recordings").iterdir()) == sorted(
        Path(s["recording_path"]).name for s in stored
    )

    # The spool is lost between the runs (its counter too).
    shutil.rmtree(devrun.var / "ivr-spool")

    await asyncio.to_thread(devrun.start)
    assert "State, kept across runs in " + str(devrun.var) in devrun.text()
    # The first run's IVR gave its node id back on Ctrl-C (the API stopped after it).
    assert "held by another spool" not in devrun.text()
    assert set(await officers_live(devrun, headers)) >= OFFICERS
    second = await complain(devrun, ["081222220001", "081222220002"])
    assert await wait_until(lambda: complaints(devrun, headers, [*second.values()]), 60)

    # No ticket repeats: the counter continued after the API's highest ticket.
    tickets = [*first.values(), *second.values()]
    assert len(set(tickets)) == 4, tickets
    assert min(second.values()) > max(first.values())
    # Every first-run complaint still plays its own citizen, byte for byte.
    for ticket, audio in first_audio.items():
        assert digest(recording(devrun, headers, ticket)) == digest(audio), ticket
    everything = get(devrun, headers, "/complaints", limit=50)["items"]
    assert sorted(c["ticket"] for c in everything) == sorted(tickets)
    paths = [c["recording_path"] for c in everything]
    assert len(set(paths)) == 4
    # Nothing set aside: no refused complaint, nothing in the spool's rejected folder.
    assert get(devrun, headers, "/complaints/refused") == []
    assert get(devrun, headers, "/stats/live")["refused_complaints"] == 0
    assert not (devrun.var / "ivr-spool" / "rejected").exists()
    assert await asyncio.to_thread(devrun.stop) == 0
    assert len(list((devrun.var / "recordings").iterdir())) == 4
