"""The sender with two batches in flight: both posted at once, each removed only on a 200."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from collector import DiskBuffer, ReceivedEvent, Sender
from collector._backoff import Backoff


def events(n: int) -> list[ReceivedEvent]:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    return [ReceivedEvent(f"cc1:{i}", "cc1", at, "Hangup", {"Uniqueid": str(i)}) for i in range(n)]


def ids(request: httpx.Request) -> list[str]:
    return [e["id"] for e in json.loads(request.content)["events"]]


async def run_until(sender: Sender, done: asyncio.Event) -> None:
    task = asyncio.create_task(sender.run())
    await asyncio.wait_for(done.wait(), 10)
    sender.stop()
    await asyncio.wait_for(task, 10)
    await sender.client.aclose()


def sender(buffer: DiskBuffer, api: httpx.MockTransport) -> Sender:
    client = httpx.AsyncClient(transport=api, base_url="http://api")
    return Sender(
        buffer, client, batch_size=4, linger=0, backoff=Backoff(0.01, 0.02), max_in_flight=2
    )


async def test_two_batches_are_posted_before_either_is_answered(tmp_path: Path) -> None:
    both_posted = asyncio.Event()
    posted: list[list[str]] = []
    emptied = asyncio.Event()
    buffer = DiskBuffer(tmp_path / "b.sqlite3")

    async def api(request: httpx.Request) -> httpx.Response:
        posted.append(ids(request))
        if len(posted) == 2:
            both_posted.set()
        await asyncio.wait_for(both_posted.wait(), 5)  # answers only once two are pending
        if len(posted) == 3:
            emptied.set()
        return httpx.Response(200, json={"accepted": 4, "duplicates": 0})

    buffer.append(events(10))
    await run_until(sender(buffer, httpx.MockTransport(api)), emptied)
    assert posted[:2] == [[f"cc1:{i}" for i in range(4)], [f"cc1:{i}" for i in range(4, 8)]]
    assert sorted(i for batch in posted for i in batch) == sorted(f"cc1:{i}" for i in range(10))
    assert len(buffer) == 0
    buffer.close()


async def test_a_failed_batch_stays_buffered_and_is_sent_again(tmp_path: Path) -> None:
    attempts: dict[str, int] = {}
    stored: list[str] = []
    everything = asyncio.Event()
    buffer = DiskBuffer(tmp_path / "b.sqlite3")

    async def api(request: httpx.Request) -> httpx.Response:
        batch = ids(request)
        attempts[batch[0]] = attempts.get(batch[0], 0) + 1
        if batch[0] == "cc1:0" and attempts[batch[0]] == 1:
            return httpx.Response(503)  # the first batch fails once, the second goes through
        stored.extend(batch)
        if len(set(stored)) == 8:
            everything.set()
        return httpx.Response(200, json={"accepted": len(batch), "duplicates": 0})

    buffer.append(events(8))
    await run_until(sender(buffer, httpx.MockTransport(api)), everything)
    assert sorted(stored) == sorted(f"cc1:{i}" for i in range(8))  # each stored once
    assert attempts == {"cc1:0": 2, "cc1:4": 1}
    assert len(buffer) == 0
    buffer.close()


async def test_a_refused_event_is_set_aside_while_another_batch_is_in_flight(
    tmp_path: Path,
) -> None:
    stored: list[str] = []
    settled = asyncio.Event()
    buffer = DiskBuffer(tmp_path / "b.sqlite3")

    async def api(request: httpx.Request) -> httpx.Response:
        batch = ids(request)
        if "cc1:2" in batch:
            return httpx.Response(422, json={"detail": "bad"})
        stored.extend(batch)
        if len(stored) == 7:
            settled.set()
        return httpx.Response(200, json={"accepted": len(batch), "duplicates": 0})

    buffer.append(events(8))
    await run_until(sender(buffer, httpx.MockTransport(api)), settled)
    assert sorted(stored) == sorted(f"cc1:{i}" for i in range(8) if i != 2)
    assert (len(buffer), buffer.rejected()) == (0, 1)
    buffer.close()
