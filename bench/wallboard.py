"""Wallboards under load: ``--boards`` supervisors' wallboards connected to one API worker
(SQLite) while calls' events arrive at ``--rate`` events per second for ``--seconds``.

Each board is a plain HTTP client doing what the page does: it follows
``/wallboard/events`` and, on a "changed" push, fetches ``/wallboard/board`` (at most
once a second), plus every 5 s anyway. Events are posted as collector batches to
``POST /events`` (10 per batch). Printed: push latency (post of a batch to each board's
receipt of the "changed" it caused) p50/p95, board fetches per second and their p95, the
API's CPU share and its resident memory before and after.

    .venv/bin/python -m bench.wallboard --boards 50 --rate 20 --seconds 300
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlmodel import Session

from api.core.auth import Role
from api.people.users import create_user
from bench.console import percentile, rss_kib
from bench.ingest import api_pid, cpu_seconds
from tests.e2e.services import ApiProcess
from tests.integration.event_factory import FakeCall
from tests.people import PASSWORD

BATCH = 10
REDRAW_SECONDS = 5.0


class Board:
    """One wallboard's client: its push latencies and board fetch times."""

    def __init__(self, client: httpx.AsyncClient, sent: dict[int, float]) -> None:
        self.client, self.sent = client, sent
        self.latencies: list[float] = []
        self.fetches: list[float] = []
        self.ready = asyncio.Event()
        self._dirty = asyncio.Event()

    async def follow(self) -> None:
        async with self.client.stream("GET", "/wallboard/events") as response:
            response.raise_for_status()
            self.ready.set()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    # The push carries no payload of ours: its time is the newest batch's.
                    if self.sent:
                        self.latencies.append(time.time() - self.sent[max(self.sent)])
                    self._dirty.set()

    async def redraw(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._dirty.wait(), REDRAW_SECONDS)
                await asyncio.sleep(1.0)  # the page coalesces pushes to one redraw a second
            except TimeoutError:
                pass
            self._dirty.clear()
            t0 = time.perf_counter()
            (await self.client.get("/wallboard/board")).raise_for_status()
            self.fetches.append(time.perf_counter() - t0)


async def run(boards: int, rate: float, seconds: float, folder: Path) -> None:
    api = ApiProcess(f"sqlite:///{folder / 'wallboard.db'}", folder / "api.log")
    with Session(api.engine) as session:
        create_user(session, username="sri", password=PASSWORD, role=Role.supervisor, full_name="S")
    api.start()
    collector = {"Authorization": f"Bearer {api.token(Role.collector)}"}
    pid = api_pid(api)
    sent: dict[int, float] = {}
    clients, tasks, board_list = [], [], []
    for _ in range(boards):
        client = httpx.AsyncClient(base_url=api.url, timeout=30)
        signed = await client.post("/login", data={"username": "sri", "password": PASSWORD})
        assert signed.status_code == 303, signed.text
        board = Board(client, sent)
        clients.append(client)
        board_list.append(board)
        tasks += [asyncio.create_task(board.follow()), asyncio.create_task(board.redraw())]
    await asyncio.gather(*(b.ready.wait() for b in board_list))
    rss0, cpu0, t0 = rss_kib(pid), cpu_seconds(pid), time.perf_counter()
    poster = httpx.AsyncClient(base_url=api.url, timeout=30)
    batch_no, n = 0, 0
    start = datetime.now(UTC) - timedelta(hours=1)
    while time.perf_counter() - t0 < seconds:
        events: list[dict[str, object]] = []
        while len(events) < BATCH:
            call = FakeCall(f"0812{n:08d}", start + timedelta(seconds=n), "answered", agent="p1")
            events += call.events
            n += 1
        sent[batch_no] = time.time()
        (
            await poster.post("/events", json={"events": events[:BATCH]}, headers=collector)
        ).raise_for_status()
        batch_no += 1
        await asyncio.sleep(max(0.0, batch_no * BATCH / rate - (time.perf_counter() - t0)))
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds(pid) - cpu0
    rss1 = rss_kib(pid)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in [*clients, poster]:
        await client.aclose()
    api.close()
    latencies = [x for b in board_list for x in b.latencies]
    fetches = [x for b in board_list for x in b.fetches]
    print(
        f"machine: {os.cpu_count()} cores; {boards} boards, {batch_no * BATCH} events "
        f"in {elapsed:.0f} s ({batch_no * BATCH / elapsed:.1f}/s)"
    )
    print(
        f"push to board: p50 {1000 * percentile(latencies, 0.5):.0f} ms, "
        f"p95 {1000 * percentile(latencies, 0.95):.0f} ms ({len(latencies)} pushes received)"
    )
    fetch_p95 = 1000 * percentile(fetches, 0.95)
    print(f"board fetches: {len(fetches) / elapsed:.1f}/s, p95 {fetch_p95:.0f} ms")
    print(
        f"API CPU: {100 * cpu / elapsed:.0f} % of one core; RSS {rss0 / 1024:.0f} -> "
        f"{rss1 / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.boards, args.rate, args.seconds, Path(tmp)))


if __name__ == "__main__":
    main()
