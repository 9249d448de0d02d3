"""``lapor-collector``'s probe listener, the real process against a fake AMI peer and the
real API: /metrics moving with the events, and ready only while logged in and delivering
(a wrong AMI secret, or an API that stays away, makes it not ready)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.services import free_port, started
from tests.integration.ami_peer import FakeAmi
from tests.integration.test_collector import ApiServer, call_events
from tests.metrics_text import Samples, parse, value

BIN = Path(sys.executable).parent


@pytest.fixture
def api_server(database_url: str) -> Iterator[ApiServer]:
    with started(ApiServer(database_url)) as server:
        yield server


@asynccontextmanager
async def fake_ami(secret: str = "s3cret") -> AsyncIterator[FakeAmi]:
    ami = FakeAmi(secret)
    await ami.start()
    try:
        yield ami
    finally:
        await ami.close()


@contextmanager
def collector_process(
    ami: FakeAmi, api: ApiServer, folder: Path, secret: str, **extra: str
) -> Iterator[int]:
    """``lapor-collector`` in its own process; yields its probe listener's port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    env.update(
        LAPOR_COLLECTOR_NODE="cc1",
        LAPOR_COLLECTOR_AMI_PORT=str(ami.port),
        LAPOR_COLLECTOR_AMI_SECRET=secret,
        LAPOR_COLLECTOR_API_URL=api.url,
        LAPOR_COLLECTOR_API_TOKEN=api.token(),
        LAPOR_COLLECTOR_BUFFER_DIR=str(folder / "buffer"),
        LAPOR_COLLECTOR_BACKOFF_MIN="0.05",
        LAPOR_COLLECTOR_BACKOFF_MAX="0.5",
        LAPOR_COLLECTOR_METRICS_PORT=str(port),
        **extra,
    )
    with (folder / "collector.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "lapor-collector")], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield port
    finally:
        process.terminate()
        process.wait(15)


async def get(port: int, path: str) -> httpx.Response | None:
    """The answer, or None while nothing listens yet."""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(f"http://127.0.0.1:{port}{path}")
    except httpx.ConnectError:
        return None


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    """Await ``check()`` again until it holds."""
    async with asyncio.timeout(timeout):
        while True:  # until check() holds, or the timeout
            if await check():
                return
            await asyncio.sleep(0.1)


async def scrape(port: int) -> Samples:
    response = await get(port, "/metrics")
    assert response is not None
    assert response.status_code == 200
    return parse(response.text)


async def status(port: int, path: str) -> int | None:
    response = await get(port, path)
    return None if response is None else response.status_code


async def test_events_move_the_counters_and_readiness_follows_delivery(
    api_server: ApiServer, tmp_path: Path
) -> None:
    async with fake_ami() as ami:
        extra = {"LAPOR_COLLECTOR_READY_SECONDS": "1"}
        with collector_process(ami, api_server, tmp_path, ami.secret, **extra) as port:
            await until(lambda: _is(status(port, "/health/ready"), 200))
            before = await scrape(port)
            assert value(before, "lapor_collector_ami_connected") == 1
            assert value(before, "lapor_collector_ami_logins_total") == 1
            await ami.send(call_events("1.1", "0811"))  # five events

            async def delivered() -> bool:
                after = await scrape(port)
                posted = "lapor_collector_events_posted_total"
                return value(after, posted) - value(before, posted) == 5

            await until(delivered)
            after = await scrape(port)
            received = "lapor_collector_events_received_total"
            assert value(after, received) - value(before, received) == 5
            assert value(after, "lapor_collector_buffered_events") == 0
            assert value(after, "lapor_collector_oldest_buffered_age_seconds") == 0
            assert value(after, "lapor_collector_events_rejected_total") == 0

            # The API goes away: events wait, and after READY_SECONDS it is not ready.
            await asyncio.to_thread(api_server.stop)
            await ami.send(call_events("1.2", "0812"))
            await until(lambda: _is(status(port, "/health/ready"), 503))
            waiting = await scrape(port)
            assert value(waiting, "lapor_collector_buffered_events") == 5
            assert value(waiting, "lapor_collector_oldest_buffered_age_seconds") >= 1
            assert await status(port, "/health/live") == 200
            await asyncio.to_thread(api_server.start)
            await until(lambda: _is(status(port, "/health/ready"), 200))
            assert value(await scrape(port), "lapor_collector_buffered_events") == 0


async def test_a_wrong_ami_secret_is_never_ready(api_server: ApiServer, tmp_path: Path) -> None:
    async with fake_ami(secret="right") as ami:
        with collector_process(ami, api_server, tmp_path, "wrong") as port:
            await until(lambda: _is(status(port, "/health/live"), 200))
            await until(lambda: _has_tried(ami))
            answer = await get(port, "/health/ready")
            assert answer is not None
            assert (answer.status_code, answer.text) == (503, "not ready: not logged into AMI\n")
            samples = await scrape(port)
            assert value(samples, "lapor_collector_ami_connected") == 0
            assert value(samples, "lapor_collector_ami_logins_total") == 0


async def _is(answer: Awaitable[int | None], expected: int) -> bool:
    return await answer == expected


async def _has_tried(ami: FakeAmi) -> bool:
    return len(ami.actions_named("login")) >= 2
