"""Live push to many consoles: 200 SSE clients on one uvicorn worker on SQLite.

The API runs as a subprocess (``python -m uvicorn``) with two bench-only routes: an SSE
stream of one topic, and a POST that publishes in the server process (on SQLite a hub is
woken only by commits in its own process; another process's publish waits for the poll).
Each pushed event carries the server's ``time.time()`` at publish, so latency is publish
(commit) to a client's parse of the event, on one machine's clock.

1. broadcast: ``--pushes`` events, ``--gap-ms`` apart, to a topic every client subscribes to.
2. per agent: each client subscribes to its own ``agent:<n>`` topic; one push each.

Printed: p50/p95 latency, the server's CPU seconds per push (from /proc/<pid>/stat:
publishing, the hub's reads, fan-out and the SSE writes), and its RSS growth per connection.

    .venv/bin/python -m bench.console_push --clients 200 --pushes 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from sqlmodel import Session
from sse_starlette import EventSourceResponse

from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.live import event_stream, publish
from api.main import create_app
from tests.e2e.services import free_port

TICK = os.sysconf("SC_CLK_TCK")


def app() -> FastAPI:
    """The API with the bench's two routes (``uvicorn --factory bench.console_push:app``)."""
    api = create_app(ApiSettings())
    upgrade(api.state.engine)

    @api.get("/bench/events")
    def events(request: Request, topic: str) -> EventSourceResponse:
        return event_stream(request, frozenset({topic}))

    @api.post("/bench/publish")
    def publish_now(topic: str, n: int) -> dict[str, int]:
        with Session(api.state.engine) as session:
            publish(session, topic, "bench", {"t": time.time(), "n": n})
            session.commit()
        return {"n": n}

    @api.get("/bench/subscribers")
    def subscribers() -> dict[str, int]:
        return {"count": api.state.live.subscriber_count}

    return api


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def client(
    http: httpx.AsyncClient, topic: str, latencies: list[float], expect: int, done: asyncio.Event
) -> None:
    got = 0
    async with http.stream("GET", "/bench/events", params={"topic": topic}) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if "t" in data:
                    latencies.append(time.time() - data["t"])
                    got += 1
                    if got == expect:
                        done.set()
                        return


async def wait_subscribers(http: httpx.AsyncClient, count: int) -> None:
    async with asyncio.timeout(60):
        while True:
            if (await http.get("/bench/subscribers")).json()["count"] >= count:
                return
            await asyncio.sleep(0.05)


async def phase(
    url: str, pid: int, topics: list[str], pushes: list[str], expect: int, gap: float
) -> None:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=len(topics) + 10, max_keepalive_connections=10)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        rss_before = rss_kib(pid)
        dones = [asyncio.Event() for _ in topics]
        tasks = [
            asyncio.create_task(client(http, t, latencies, expect, d))
            for t, d in zip(topics, dones, strict=True)
        ]
        await wait_subscribers(http, len(topics))
        rss_after = rss_kib(pid)
        cpu_before = cpu_seconds(pid)
        for n, topic in enumerate(pushes):
            await http.post("/bench/publish", params={"topic": topic, "n": n})
            if gap:
                await asyncio.sleep(gap)
        async with asyncio.timeout(120):
            await asyncio.gather(*tasks)
        cpu = cpu_seconds(pid) - cpu_before
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(
        f"  deliveries {len(ms)}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms,"
        f" max {ms[-1]:.1f} ms"
    )
    print(
        f"  server CPU {cpu:.2f} s: {cpu / len(pushes) * 1000:.2f} ms per push,"
        f" {cpu / len(ms) * 1e6:.0f} µs per delivery"
    )
    print(
        f"  server RSS {rss_before} -> {rss_after} KiB with {len(topics)} connections:"
        f" {(rss_after - rss_before) / len(topics):.1f} KiB per connection"
    )


async def run(url: str, pid: int, clients: int, pushes: int, gap_ms: float) -> None:
    async with asyncio.timeout(30):
        while True:
            try:
                async with httpx.AsyncClient() as http:
                    if (await http.get(f"{url}/health")).status_code == 200:
                        break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    gap = gap_ms / 1000
    print(f"broadcast: {clients} clients on one topic, {pushes} pushes {gap_ms} ms apart")
    await phase(url, pid, ["supervisors"] * clients, ["supervisors"] * pushes, pushes, gap)
    # The RSS figure here is low: the first phase's freed memory is reused.
    print(f"per agent: {clients} clients on their own topics, one push each")
    agents = [f"agent:petugas-{n}" for n in range(clients)]
    await phase(url, pid, agents, agents, 1, gap)


def main(clients: int, pushes: int, gap_ms: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="lapor-push-"))
    port = free_port()
    env = {
        **os.environ,
        "LAPOR_API_DATABASE_URL": f"sqlite:///{folder / 'lapor.db'}",
        "LAPOR_API_REPORT_ENABLED": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.console_push:app"]
    command += ["--port", str(port), "--log-level", "warning", "--workers", "1"]
    server = subprocess.Popen(command, env=env)
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", server.pid, clients, pushes, gap_ms))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--pushes", type=int, default=100)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    main(args.clients, args.pushes, args.gap_ms)
