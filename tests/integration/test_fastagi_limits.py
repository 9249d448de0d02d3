"""``lapor-ivr`` against hostile FastAGI peers: floods, slow drips, idle and silent peers,
strangers.

The real entry point runs in its own process, configured through the environment as in
production, so its memory is its own (``/proc/<pid>/status``). The peers are raw sockets
(a fake Asterisk, tests/integration/agi_peer.py): no real Asterisk floods its FastAGI
server. Limits and timeouts are set small here; every wait on the server is generous.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.agi_peer import AGIPeer, flood

# Generous bound on anything the server should do "at once" or "after its timeout".
SERVER_TIMEOUT = 30.0
STARTUP_TIMEOUT = 30.0
MIB = 1024 * 1024
SECRET = "s3cret-for-the-tests-0123456789"


@dataclass
class IvrProcess:
    process: asyncio.subprocess.Process
    port: int
    log: Path
    spool: Path

    def memory_kib(self, name: str) -> int:
        """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of the server, in KiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(rf"^{name}:\s+(\d+) kB", status, re.M)
        assert match is not None, status
        return int(match.group(1))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


StartIvr = Callable[..., Awaitable[IvrProcess]]


@pytest.fixture
async def start_ivr(tmp_path: Path) -> AsyncIterator[StartIvr]:
    started: list[IvrProcess] = []

    async def start(**settings: str) -> IvrProcess:
        """``lapor-ivr`` on a free loopback port; ``settings`` are extra environment."""
        spool = tmp_path / f"spool{len(started)}"
        log = tmp_path / f"ivr{len(started)}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("LAPOR_AGI_", "LAPOR_IVR_"))
        }
        env.update(
            LAPOR_AGI_HOST="127.0.0.1",
            LAPOR_AGI_PORT="0",
            LAPOR_IVR_SPOOL_DIR=str(spool),
            # Nothing listens there: a complaint would stay in the outbox.
            LAPOR_IVR_API_URL="http://127.0.0.1:9",
            # No API here: serve at once on the spool's own counter.
            LAPOR_IVR_API_WAIT_SECONDS="0",
            LAPOR_IVR_NODE_ID="98",
            LAPOR_LOG_LEVEL="INFO",
            **settings,
        )
        with log.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agi_scripts.server", env=env, stderr=log_file
            )
        ivr = IvrProcess(process, 0, log, spool)
        started.append(ivr)
        async with asyncio.timeout(STARTUP_TIMEOUT):
            while (found := re.search(r"FastAGI listening on [^ ]+:(\d+)", ivr.log_text())) is None:
                assert process.returncode is None, ivr.log_text()
                await asyncio.sleep(0.05)
        ivr.port = int(found.group(1))
        return ivr

    yield start
    for ivr in started:
        if ivr.process.returncode is None:
            ivr.process.terminate()
            try:
                await asyncio.wait_for(ivr.process.wait(), 10)
            except TimeoutError:
                ivr.process.kill()
                await ivr.process.wait()


async def greet_session(port: int, script: str = "greet") -> list[str]:
    """A well-behaved Asterisk's session: headers, then "200 result=0" to every command."""
    peer = await AGIPeer.connect(port)
    try:
        await peer.send_headers(script)
        return await peer.answer_until_closed("200 result=0")
    except ConnectionError:
        return []
    finally:
        await peer.close()


def assert_served(commands: list[str]) -> None:
    assert commands[:1] == ["ANSWER"], commands
    assert commands[-1:] == ["SET VARIABLE LAPOR_STATUS OK"], commands


async def test_header_flood_is_cut_memory_stays_bounded_and_calls_are_served(
    start_ivr: StartIvr,
) -> None:
    ivr = await start_ivr()
    assert_served(await greet_session(ivr.port))  # warm: the call path is loaded
    baseline = ivr.memory_kib("VmRSS")

    kinds = {
        # Long lines: each under the old 16 KiB limit, over the 8 KiB one.
        "long lines": (b"agi_calleridname: " + b"x" * 15_000 + b"\n", 16 * MIB),
        # Short lines, far more than any header block has.
        "many lines": (b"agi_flood: x\n", 4 * MIB),
        # Lines of a legal length whose total is far over a header block's.
        "big block": (b"agi_arg_1: " + b"y" * 4_000 + b"\n", 8 * MIB),
    }
    floods = [
        asyncio.create_task(flood(ivr.port, line, budget))
        for line, budget in kinds.values()
        for _ in range(10)
    ]
    during = await greet_session(ivr.port)
    cut = await asyncio.wait_for(asyncio.gather(*floods), SERVER_TIMEOUT * 2)
    after = await greet_session(ivr.port)

    assert all(cut), f"{cut.count(False)} of {len(cut)} flooding peers were never cut off"
    assert_served(during)
    assert_served(after)
    peak_growth = ivr.memory_kib("VmHWM") - baseline
    assert peak_growth < 50 * 1024, f"the server grew by {peak_growth} KiB during the flood"
    # Nothing a flooding peer sent is kept once its connection is gone.
    assert ivr.memory_kib("VmRSS") - baseline < 20 * 1024
    log = ivr.log_text()
    assert "line longer than 8192 bytes; closed" in log
    assert "more than 256 header lines; closed" in log
    assert "headers longer than 32768 bytes; closed" in log


async def test_slow_drip_of_header_bytes_is_cut_after_the_header_timeout(
    start_ivr: StartIvr,
) -> None:
    ivr = await start_ivr(LAPOR_IVR_HEADER_TIMEOUT="1")
    peer = await AGIPeer.connect(ivr.port)
    headers = b"agi_network: yes\nagi_network_script: greet\n" * 100

    async def drip() -> None:
        with contextlib.suppress(ConnectionError):
            for byte in headers:
                await peer.write(bytes([byte]))
                await asyncio.sleep(0.1)

    dripping = asyncio.create_task(drip())
    try:
        assert await asyncio.wait_for(peer.read_until_gone(), SERVER_TIMEOUT) == b""
    finally:
        dripping.cancel()
        await peer.close()
    assert "header timeout; closed" in ivr.log_text()


async def connect_silent_peers(port: int, count: int) -> list[AGIPeer]:
    peers: list[AGIPeer] = []
    for start in range(0, count, 50):
        batch = range(start, min(start + 50, count))
        peers += await asyncio.gather(*(AGIPeer.connect(port) for _ in batch))
    return peers


async def test_idle_peers_over_the_session_cap_are_refused_at_once(
    start_ivr: StartIvr,
) -> None:
    ivr = await start_ivr(LAPOR_IVR_MAX_SESSIONS="100", LAPOR_IVR_HEADER_TIMEOUT="600")
    peers = await connect_silent_peers(ivr.port, 1000)
    try:
        waits = {asyncio.create_task(peer.read_until_gone()): peer for peer in peers}
        async with asyncio.timeout(SERVER_TIMEOUT):
            for count, finished in enumerate(asyncio.as_completed(waits), 1):
                assert await finished == b""
                if count == 900:
                    break
        await asyncio.sleep(0.5)  # room for a wrong 901st refusal to show
        held = [peer for task, peer in waits.items() if not task.done()]
        assert len(held) == 100

        # Over the cap, a real request is refused too, without a single command...
        refused = await AGIPeer.connect(ivr.port)
        await refused.send_headers("call")
        assert await asyncio.wait_for(refused.read_until_gone(), SERVER_TIMEOUT) == b""
        await refused.close()
        # ...and served again once there is room.
        for peer in held[:10]:
            await peer.close()
        served: list[str] = []
        async with asyncio.timeout(SERVER_TIMEOUT):
            while not served:
                served = await greet_session(ivr.port)
        assert_served(served)
        assert not any(task.done() for task, peer in waits.items() if peer in held[10:])
    finally:
        for peer in peers:
            await peer.close()
        for task in waits:
            task.cancel()
    assert "refused: 100 sessions already (the cap)" in ivr.log_text()


async def test_idle_peers_time_out_while_a_call_is_served(start_ivr: StartIvr) -> None:
    ivr = await start_ivr(LAPOR_IVR_MAX_SESSIONS="2000", LAPOR_IVR_HEADER_TIMEOUT="2")
    peers = await connect_silent_peers(ivr.port, 1000)
    try:
        assert_served(await greet_session(ivr.port))
        gone = await asyncio.wait_for(
            asyncio.gather(*(peer.read_until_gone() for peer in peers)), SERVER_TIMEOUT * 2
        )
        assert gone == [b""] * len(peers)
    finally:
        for peer in peers:
            await peer.close()
    assert "header timeout; closed" in ivr.log_text()


async def test_a_peer_that_never_answers_a_command_loses_its_session(
    start_ivr: StartIvr,
) -> None:
    ivr = await start_ivr(LAPOR_IVR_REPLY_TIMEOUT="0.5")
    peer = await AGIPeer.connect(ivr.port)
    try:
        await peer.send_headers("greet")
        assert await peer.read_command() == "ANSWER"
        # No reply, ever: the server gives up after the reply timeout.
        assert await asyncio.wait_for(peer.read_until_gone(), SERVER_TIMEOUT) == b""
    finally:
        await peer.close()
    assert "no reply to ANSWER within 0.5 s" in ivr.log_text()


def outbox_records(ivr: IvrProcess) -> list[Path]:
    outbox = ivr.spool / "outbox"
    return sorted(outbox.iterdir()) if outbox.exists() else []


async def test_a_peer_outside_the_allowed_networks_runs_no_handler(
    start_ivr: StartIvr,
) -> None:
    ivr = await start_ivr(LAPOR_IVR_ALLOWED_PEERS="192.0.2.0/24, 2001:db8::/32")
    peer = await AGIPeer.connect(ivr.port)
    try:
        await peer.send_headers("call")
        assert await asyncio.wait_for(peer.read_until_gone(), SERVER_TIMEOUT) == b""
    finally:
        await peer.close()
    assert "denied: address not allowed" in ivr.log_text()
    assert "call start" not in ivr.log_text()
    assert outbox_records(ivr) == []


@pytest.mark.parametrize(
    "script",
    ["call", "call?secret=wrong-secret-0123456789", f"call?secret={SECRET}x", "call?secret="],
)
async def test_a_request_without_the_agi_secret_runs_no_handler(
    start_ivr: StartIvr, script: str
) -> None:
    ivr = await start_ivr(LAPOR_AGI_SECRET=SECRET)
    peer = await AGIPeer.connect(ivr.port)
    try:
        await peer.send_headers(script)
        assert await asyncio.wait_for(peer.read_until_gone(), SERVER_TIMEOUT) == b""
    finally:
        await peer.close()
    # The right secret still opens a session.
    assert_served(await greet_session(ivr.port, f"greet?secret={SECRET}"))
    log = ivr.log_text()
    assert "denied: missing or wrong AGI secret (script 'call')" in log
    assert "call start script=call" not in log
    assert "call start script=greet" in log
    assert SECRET not in log
    assert "wrong-secret" not in log
    assert outbox_records(ivr) == []
