"""FastAGI server limits and peer checks in process, where outcomes and handlers show.

tests/integration/test_fastagi_limits.py runs the same defences in a real ``lapor-ivr``
process; here each is pinned down against a fake Asterisk over real TCP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest

from ivr import Channel
from ivr.access import PeerAccess, parse_networks
from ivr.fastagi import FastAGILimits
from tests.integration.agi_peer import AGIPeer, agi_headers, header_bytes
from tests.integration.agi_servers import AGIServers, RunningServer

OUTCOME_TIMEOUT = 10.0
SECRET = "guard-secret-0123456789"


Start = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    servers = AGIServers(OUTCOME_TIMEOUT)
    yield servers.start
    await servers.close()


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(OUTCOME_TIMEOUT):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)


async def ended(peer: AGIPeer) -> bytes:
    return await asyncio.wait_for(peer.read_until_gone(), OUTCOME_TIMEOUT)


class Recorder:
    """A handler that notes every request it is given, then answers the call."""

    def __init__(self) -> None:
        self.requests: list[Mapping[str, str]] = []

    async def __call__(self, channel: Channel) -> None:
        self.requests.append(channel.request.env)
        await channel.answer()


async def test_a_command_gets_its_own_duration_before_the_reply_timeout(start: Start) -> None:
    async def handler(channel: Channel) -> None:
        await channel.get_data("lapor/menu-utama", 2000, 1)
        await channel.answer()

    running = await start({"call": handler}, limits=FastAGILimits(reply_timeout=0.2))
    peer = await running.connect()
    await peer.send_headers("call")
    assert await peer.read_command() == "GET DATA lapor/menu-utama 2000 1"
    await asyncio.sleep(0.6)  # past the margin, well within the key timeout
    await peer.reply("200 result=1")
    assert await peer.read_command() == "ANSWER"
    # ANSWER's window is the margin alone; no reply: nothing more is sent, the session ends.
    assert await ended(peer) == b""
    outcome = await running.next_outcome()
    assert (outcome.status, outcome.error) == (
        "timeout",
        "AGITimeout: no reply to ANSWER within 0.2 s",
    )
    assert running.server.stats.failed == 1


async def test_the_handler_never_sees_the_secret(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    access = PeerAccess.for_host("127.0.0.1", SECRET)
    running = await start({"call": recorder}, access=access)
    peer = await running.connect()
    await peer.send_headers(f"call?secret={SECRET}")
    await peer.expect("ANSWER")
    await peer.expect("SET VARIABLE LAPOR_STATUS OK")
    assert await ended(peer) == b""
    assert (await running.next_outcome()).status == "ok"
    [env] = recorder.requests
    assert env["agi_network_script"] == "call"
    assert env["agi_request"] == "agi://127.0.0.1/call"
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("access", "script", "error"),
    [
        (PeerAccess(parse_networks("192.0.2.0/24")), "call", "peer address 127.0.0.1 not allowed"),
        (PeerAccess.for_host("127.0.0.1", SECRET), "call", "missing or wrong AGI secret"),
        (
            PeerAccess.for_host("127.0.0.1", SECRET),
            "call?secret=not-the-secret-0000",
            "missing or wrong AGI secret",
        ),
    ],
)
async def test_a_denied_peer_runs_no_handler(
    start: Start,
    caplog: pytest.LogCaptureFixture,
    access: PeerAccess,
    script: str,
    error: str,
) -> None:
    recorder = Recorder()
    running = await start({"call": recorder}, access=access)
    peer = await running.connect()
    await peer.send_headers(script)
    assert await ended(peer) == b""
    outcome = await running.next_outcome()
    assert (outcome.status, outcome.error) == ("denied", error)
    assert recorder.requests == []
    assert running.server.stats.denied == 1
    assert "denied" in caplog.text
    assert "not-the-secret" not in caplog.text


async def test_over_the_cap_a_connection_is_refused_and_the_log_is_throttled(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start({"call": Recorder()}, limits=FastAGILimits(max_sessions=2))
    idle = [await running.connect() for _ in range(2)]
    await until(lambda: running.server.active_sessions == 2)
    for _ in range(5):
        refused = await running.connect()
        await refused.send_headers("call")
        assert await ended(refused) == b""
        outcome = await running.next_outcome()
        assert (outcome.status, outcome.error) == ("refused", "session cap reached")
    assert running.server.stats.refused == 5
    assert running.server.active_sessions == 2
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1  # a flood of refusals is one line a second
    assert all(not peer.reader.at_eof() for peer in idle)


@pytest.mark.parametrize(
    ("limits", "data", "error"),
    [
        (FastAGILimits(max_line_bytes=100), b"agi_x: " + b"x" * 200 + b"\n\n", "line longer"),
        (FastAGILimits(max_header_lines=3), b"agi_x: 1\n" * 4 + b"\n", "more than 3 header"),
        (FastAGILimits(max_header_bytes=50), b"agi_x: 1234567890\n" * 3 + b"\n", "longer than 50"),
        (FastAGILimits(max_header_lines=30), header_bytes(agi_headers("call")), None),
    ],
)
async def test_header_block_limits(
    start: Start, limits: FastAGILimits, data: bytes, error: str | None
) -> None:
    recorder = Recorder()
    running = await start({"call": recorder}, limits=limits)
    peer = await running.connect()
    await peer.write(data)
    if error is None:
        await peer.expect("ANSWER")
        await peer.expect("SET VARIABLE LAPOR_STATUS OK")
    assert await ended(peer) == b""
    outcome = await running.next_outcome()
    if error is None:
        assert outcome.status == "ok"
    else:
        assert outcome.status == "bad_request"
        assert outcome.error is not None
        assert error in outcome.error
        assert recorder.requests == []


async def test_an_endless_usage_reply_fails_the_call(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="ivr.session")
    running = await start({"call": Recorder()})
    peer = await running.connect()
    await peer.send_headers("call")
    assert await peer.read_command() == "ANSWER"
    await peer.reply("520-Invalid command syntax.  Proper usage follows:", *["usage"] * 300)
    outcome = await running.next_outcome()
    assert outcome.status == "failed"
    assert outcome.error == "AGIProtocolError: 520 reply longer than 256 lines"
