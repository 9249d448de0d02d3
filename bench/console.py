"""The officers' console under load: how fast a ring reaches the page, and what 200
connected consoles cost the API.

1. ``pop``: a fake AMI peer (in this process: Asterisk's own timing is not ours to measure)
   sends each call's events to a real ``lapor-collector`` (its batching as configured),
   which posts them to a real ``lapor-api`` (SQLite); a signed-in console in Debian's
   Chromium shows the caller panel. Timed from the moment the AgentCalled event is written
   to the AMI socket until the page's DOM holds that call's panel (a MutationObserver
   stamps it), over ``--calls`` calls one after another.
2. ``fanout``: ``--consoles`` officers' consoles (plain HTTP clients on the real
   ``/console/events`` stream, each with its own session), one API worker. Each push is a
   ring for one officer posted to ``POST /events``; timed from the post until that
   officer's stream delivers it. Prints the API's CPU seconds per push and its resident
   memory per connected console.

    .venv/bin/python -m bench.console --calls 200 --consoles 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import async_playwright
from sqlmodel import Session

from api.complaints.models import ComplaintCategory, ComplaintCreate, create_complaint
from api.core.auth import Role, issue_token
from api.core.clock import WorkCalendar
from bench.ingest import api_pid, collector_env, cpu_seconds
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.browser import sign_in
from tests.e2e.services import BIN, ApiProcess
from tests.integration.ami_peer import FakeAmi, frame
from tests.people import add_agent

# Tells the bench (an exposed function: no eval, which the page's CSP forbids) when each
# call's panel first shows, by the page's clock.
WATCH = """() => {
  const seen = new Set();
  new MutationObserver(() => {
    const panel = document.querySelector("#caller .caller");
    const id = panel && panel.dataset.linkedid;
    if (id && !seen.has(id)) { seen.add(id); window.laporPopped(id, Date.now()); }
  }).observe(document.getElementById("caller"), {childList: true, subtree: true});
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def call_frames(n: int, agent: str) -> tuple[str, bytes, bytes]:
    """Call ``n``'s events up to the ring, and those after it (answer, hang-up)."""
    linkedid = f"1796000000.{n}"
    base = {
        "Channel": f"PJSIP/trunk-{n:08x}",
        "Uniqueid": linkedid,
        "Linkedid": linkedid,
        "CallerIDNum": f"0812{n:08d}",
        "CallerIDName": "Warga",
    }

    def ev(name: str, **fields: str) -> bytes:
        stamp = f"{time.time():.6f}"
        return frame(Event=name, Privilege="call,all", Timestamp=stamp, **base, **fields)

    before = b"".join(
        [
            ev("Newchannel", Exten="082282204761", Context="from-trunk"),
            ev("UserEvent", UserEvent="LaporTicket", Ticket=f"77{n:06d}", Category="lainnya"),
            ev("QueueCallerJoin", Queue="pengaduan", Position="1", Count="1"),
        ]
    )
    ring = ev("AgentCalled", Queue="pengaduan", MemberName=agent, Interface="PJSIP/1001")
    after = b"".join(
        [
            ev("AgentConnect", Queue="pengaduan", MemberName=agent, HoldTime="1", RingTime="1"),
            ev("AgentComplete", Queue="pengaduan", MemberName=agent, TalkTime="1"),
            ev("Hangup", Cause="16"),
        ]
    )
    return linkedid, before + ring, after


class Arrivals:
    """When each pushed call reached its console's stream."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Event] = {}

    def arrived(self, linkedid: str, at: float | None = None) -> None:
        self.at.setdefault(linkedid, time.time() if at is None else at)
        self.waiters.setdefault(linkedid, asyncio.Event()).set()

    async def wait(self, linkedid: str) -> float:
        await self.waiters.setdefault(linkedid, asyncio.Event()).wait()
        return self.at[linkedid]


async def pop(calls: int, folder: Path) -> list[float]:
    api = ApiProcess(f"sqlite:///{folder / 'pop.db'}", folder / "api.log")
    with Session(api.engine) as session:
        add_agent(session, "siti", "1001")
        for n in range(calls):
            data = ComplaintCreate(
                ticket=f"77{n:06d}",
                category=ComplaintCategory.lainnya,
                caller_number=f"0812{n:08d}",
                line="082282204761",
                uniqueid=f"1796000000.{n}",
                taken_at=datetime.now(UTC) - timedelta(minutes=1),
            )
            create_complaint(session, data=data, calendar=WorkCalendar())
    api.start()
    peer = FakeAmi()
    await peer.start()
    env = collector_env(peer, api, folder)
    with (folder / "collector.log").open("wb") as log:
        collector = await asyncio.create_subprocess_exec(
            str(BIN / "lapor-collector"), env=env, stdout=log, stderr=log
        )
    latencies: list[float] = []
    try:
        await peer.wait_logins(1, timeout=20)
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
            )
            page = await browser.new_page()
            shown = Arrivals()
            await page.expose_function(
                "laporPopped", lambda linkedid, at: shown.arrived(linkedid, at / 1000)
            )
            await sign_in(page, api.url, "siti")
            await page.locator("#live").filter(has_text="Terhubung").wait_for()
            await page.evaluate(WATCH)
            for n in range(calls):
                linkedid, ring, after = call_frames(n, "siti")
                sent = time.time()
                await peer.send(ring)
                at = await asyncio.wait_for(shown.wait(linkedid), 10)
                latencies.append(at - sent)
                await peer.send(after)
            await browser.close()
    finally:
        collector.terminate()
        await collector.wait()
        await peer.close()
        api.close()
    return latencies


async def _listen(
    client: httpx.AsyncClient, cookie: str, got: Arrivals, ready: asyncio.Event
) -> None:
    headers = {"Cookie": f"lapor_session={cookie}"}
    async with client.stream("GET", "/console/events", headers=headers) as response:
        response.raise_for_status()
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"linkedid"' in line:
                linkedid = line.split('"linkedid":"', 1)[1].split('"', 1)[0]
                got.arrived(linkedid)


async def fanout(consoles: int, folder: Path) -> dict[str, float]:
    api = ApiProcess(f"sqlite:///{folder / 'fanout.db'}", folder / "fanout-api.log")
    cookies = []
    with Session(api.engine) as session:
        for n in range(consoles):
            user = add_agent(session, f"petugas{n}", f"{2000 + n}")
            token, _ = issue_token(
                session,
                name=user.username,
                role=Role.agent,
                user_id=user.id,
                expires_in=timedelta(hours=1),
            )
            cookies.append(token)
    api.start()
    collector = {"Authorization": f"Bearer {api.token(Role.collector)}"}
    pid = api_pid(api)
    got = Arrivals()
    limits = httpx.Limits(max_connections=consoles + 10)
    async with httpx.AsyncClient(base_url=api.url, timeout=None, limits=limits) as client:
        rss0 = rss_kib(pid)
        readies = [asyncio.Event() for _ in cookies]
        tasks = [
            asyncio.create_task(_listen(client, c, got, r))
            for c, r in zip(cookies, readies, strict=True)
        ]
        await asyncio.gather(*(r.wait() for r in readies))
        await asyncio.sleep(1)
        rss1 = rss_kib(pid)
        latencies = []
        cpu0 = cpu_seconds(pid)
        for n in range(consoles):
            linkedid = f"fan.{uuid.uuid4().hex[:12]}"
            event = {
                "id": f"bench-{linkedid}",
                "node": "bench",
                "received_at": datetime.now(UTC).isoformat(),
                "name": "AgentCalled",
                "fields": {
                    "Event": "AgentCalled",
                    "MemberName": f"petugas{n}",
                    "Linkedid": linkedid,
                    "Uniqueid": linkedid,
                },
            }
            sent = time.time()
            response = await client.post("/events", json={"events": [event]}, headers=collector)
            response.raise_for_status()
            latencies.append(await got.wait(linkedid) - sent)
        cpu = cpu_seconds(pid) - cpu0
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    api.close()
    return {
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
        "cpu_per_push_ms": 1000 * cpu / consoles,
        "rss_before_mib": rss0 / 1024,
        "rss_per_console_kib": (rss1 - rss0) / consoles,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--consoles", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        latencies = await pop(args.calls, Path(tmp))
        print(
            f"pop: {len(latencies)} calls, AMI AgentCalled -> panel in the browser: "
            f"p50 {1000 * statistics.median(latencies):.0f} ms, "
            f"p95 {1000 * percentile(latencies, 0.95):.0f} ms, "
            f"max {1000 * max(latencies):.0f} ms"
        )
        figures = await fanout(args.consoles, Path(tmp))
        print(
            f"fanout: {args.consoles} consoles on one API worker: push -> stream "
            f"p50 {1000 * figures['p50']:.0f} ms, p95 {1000 * figures['p95']:.0f} ms; "
            f"API CPU {figures['cpu_per_push_ms']:.1f} ms per push; "
            f"RSS {figures['rss_before_mib']:.0f} MiB idle, "
            f"+{figures['rss_per_console_kib']:.0f} KiB per connected console"
        )


if __name__ == "__main__":
    asyncio.run(main())
