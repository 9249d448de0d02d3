"""Scrape /metrics of the API, the IVR and the collector, each its own real process,
before and after N real calls through the sandbox: the counters move by exactly the
calls placed. Asterisk's own res_prometheus answers too."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.calls import follow_queued_call, random_caller
from tests.e2e.ivr_node import LINE, IvrNode, event, prepare_node
from tests.e2e.kpi_support import CollectorProcess
from tests.e2e.services import BIN, ApiProcess, free_port, fresh_api_process
from tests.metrics_text import Samples, parse, value

pytestmark = pytest.mark.e2e
CALLS = 3
# The caller presses 0 (officer) during the greeting: the shortest way to the queue.
TO_OFFICER = "wait:1|dtmf:0"
READY_TIMEOUT = 60.0


@contextmanager
def ivr_process(sandbox: Sandbox, node: IvrNode, metrics_port: int, log: Path) -> Iterator[None]:
    """``lapor-ivr`` on the sandbox's AGI port, for the node the API knows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAPOR_AGI_", "LAPOR_IVR_"))}
    env.update(
        node.settings.as_env(),
        LAPOR_AGI_HOST=sandbox.config.agi_host,
        LAPOR_AGI_PORT=str(sandbox.config.agi_port),
        LAPOR_AGI_SECRET=sandbox.secrets.agi,
        LAPOR_IVR_METRICS_PORT=str(metrics_port),
    )
    with log.open("ab") as out:
        process = subprocess.Popen([str(BIN / "lapor-ivr")], env=env, stdout=out, stderr=out)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def get(url: str, token: str | None = None) -> httpx.Response | None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(url, headers=headers)
    except httpx.TransportError:
        return None


async def wait_ready(url: str, log: Path) -> None:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            while True:
                answer = await get(url)
                if answer is not None and answer.status_code == 200:
                    return
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"{url} not ready:\n{log.read_text(errors='replace')}") from None


class Scraper:
    def __init__(self, api: ApiProcess, ivr_port: int, collector_port: int) -> None:
        self.urls = {
            "collector": f"http://127.0.0.1:{collector_port}/metrics",
            "api": f"{api.url}/metrics",
            "ivr": f"http://127.0.0.1:{ivr_port}/metrics",
        }
        self.token = api.token(Role.monitoring, name="e2e-prometheus")

    async def __call__(self) -> dict[str, Samples]:
        return {service: await self.one(service) for service in self.urls}

    async def collector(self) -> Samples:
        return await self.one("collector")

    async def one(self, service: str) -> Samples:
        url = self.urls[service]
        answer = await get(url, self.token if service == "api" else None)
        assert answer is not None, f"{service}: nothing listens at {url}"
        assert answer.status_code == 200, f"{service}: {answer.status_code} {answer.text}"
        return parse(answer.text)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def delivered_all(samples: dict[str, Samples]) -> bool:
    """The collector has delivered every event it received: no batch is on its way, so
    the API and the collector count the same events whichever is scraped first."""
    collector = samples["collector"]
    received = value(collector, "lapor_collector_events_received_total")
    taken = value(collector, "lapor_collector_events_posted_total") + value(
        collector, "lapor_collector_events_rejected_total"
    )
    return received == taken and value(collector, "lapor_collector_buffered_events") == 0


async def settled(scrape: Scraper, offered: float = 0) -> dict[str, Samples]:
    """A scrape once the API counts ``offered`` calls today and the collector is idle: it
    had delivered all it received, and received nothing more, from before the API's
    scrape until after it (the three are scraped collector first, collector again last)."""
    received = "lapor_collector_events_received_total"
    async with asyncio.timeout(60):
        while True:
            samples = await scrape()
            again = await scrape.collector()
            today = value(samples["api"], "lapor_api_calls_offered_today")
            quiet = value(again, received) == value(samples["collector"], received)
            if today >= offered and quiet and delivered_all(samples):
                return samples
            await asyncio.sleep(0.5)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiProcess]:
    """A fresh API and database: only this test's calls are in today's figures."""
    with fresh_api_process(tmp_path / "api.log") as process:
        yield process


@pytest.fixture
def node(sandbox: Sandbox, api: ApiProcess, ivr_node: IvrNode) -> Iterator[IvrNode]:
    """This test's IVR node, on its own API. The classic env file is the sandbox's one:
    the session's node is put back after, or later classic scripts would deliver to this
    test's API, gone by then (test_survey's classic rating waited in the outbox)."""
    try:
        yield prepare_node(sandbox, api)
    finally:
        prepare_node(sandbox, ivr_node.api)


async def test_counters_move_by_exactly_the_calls_placed(
    sandbox: Sandbox, api: ApiProcess, node: IvrNode, tmp_path: Path, quiet_call_center: None
) -> None:
    ivr_port, collector_port = free_port(), free_port()
    collector = CollectorProcess(sandbox, api, tmp_path)
    collector.env["LAPOR_COLLECTOR_METRICS_PORT"] = str(collector_port)
    ivr_log = tmp_path / "ivr.log"
    with ivr_process(sandbox, node, ivr_port, ivr_log):
        collector.start()
        try:
            await wait_ready(f"http://127.0.0.1:{ivr_port}/health/ready", ivr_log)
            await wait_ready(f"http://127.0.0.1:{collector_port}/health/ready", collector.log_path)
            scrape = Scraper(api, ivr_port, collector_port)
            before = await settled(scrape)
            async with await sandbox.connect_ami() as ami:
                for _ in range(CALLS):
                    caller = random_caller()
                    await sandbox.place_call(LINE, caller, TO_OFFICER)
                    call = await follow_queued_call(ami, caller)
                    assert call.ivr_done["Status"] == "OK"
                    # The officer hung up; the caller, silent, skips the survey.
                    await event(ami, "Hangup", READY_TIMEOUT, Uniqueid=call.uniqueid)
            offered = value(before["api"], "lapor_api_calls_offered_today") + CALLS
            after = await settled(scrape, offered)
        finally:
            collector.stop()

    ivr_b, ivr_a = before["ivr"], after["ivr"]
    sessions = "lapor_ivr_agi_sessions_total"
    assert moved(ivr_b, ivr_a, sessions, route="call", outcome="handled") == CALLS
    assert moved(ivr_b, ivr_a, sessions, route="call", outcome="failed") == 0
    assert moved(ivr_b, ivr_a, sessions, route="survey", outcome="handled") == CALLS
    assert moved(ivr_b, ivr_a, "lapor_ivr_greeting_latency_seconds_count") == CALLS
    for reason in ("rejected", "over_capacity", "denied"):
        assert moved(ivr_b, ivr_a, "lapor_ivr_agi_refused_total", reason=reason) == 0
    assert value(ivr_a, "lapor_ivr_agi_sessions_active") == 0
    assert value(ivr_a, "lapor_ivr_outbox_depth") == 0

    col_b, col_a = before["collector"], after["collector"]
    received = moved(col_b, col_a, "lapor_collector_events_received_total")
    posted = moved(col_b, col_a, "lapor_collector_events_posted_total")
    assert received > 0
    assert posted == received
    assert moved(col_b, col_a, "lapor_collector_events_rejected_total") == 0
    assert value(col_a, "lapor_collector_ami_connected") == 1

    api_b, api_a = before["api"], after["api"]
    assert moved(api_b, api_a, "lapor_api_calls_offered_today") == CALLS
    assert moved(api_b, api_a, "lapor_api_calls_answered_today") == CALLS
    # Every event the collector posted was taken: stored, or known already (a batch sent
    # again after a timeout); none refused, none lost.
    stored = moved(api_b, api_a, "lapor_api_events_total", outcome="stored")
    duplicate = moved(api_b, api_a, "lapor_api_events_total", outcome="duplicate")
    assert stored > 0
    assert stored + duplicate == posted
    assert moved(api_b, api_a, "lapor_api_events_total", outcome="rejected") == 0
    assert 0 <= value(api_a, "lapor_api_service_level_ratio") <= 1
    assert value(api_a, "lapor_api_collector_ami_connected", node="callcenter") == 1


async def test_asterisk_serves_its_own_metrics(sandbox: Sandbox) -> None:
    answer = await get(f"http://127.0.0.1:{sandbox.config.http_port}/metrics")
    assert answer is not None
    assert answer.status_code == 200, answer.text
    samples = parse(answer.text)
    names = {name for name, _ in samples}
    assert any(name.startswith("asterisk_core_uptime_seconds") for name in names), names
    assert "asterisk_channels_count" in names, names
    assert "asterisk_calls_count" in names, names
