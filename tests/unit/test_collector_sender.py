"""The collector's sender: batches in order, retries on failure, sets a refused event aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from collector import DiskBuffer, ReceivedEvent, Sender
from collector._backoff import Backoff


def events(n: int) -> list[ReceivedEvent]:
    at = datetime(2026, 11, 28, tzinfo=UTC)
    return [ReceivedEvent(f"cc1:{i}", "cc1", at, "Hangup", {"Uniqueid": str(i)}) for i in range(n)]


def sender(buffer: DiskBuffer, handler: httpx.MockTransport) -> Sender:
    client = httpx.AsyncClient(transport=handler, base_url="http://api")
    return Sender(buffer, client, batch_size=4, linger=0, backoff=Backoff(0.01, 0.02))


async def test_batches_go_in_order_and_leave_the_buffer(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append([e["id"] for e in json.loads(request.content)["events"]])
        return httpx.Response(200, json={"accepted": len(seen[-1]), "duplicates": 0})

    buffer = DiskBuffer(tmp_path / "b.sqlite3")
    buffer.append(events(10))
    s = sender(buffer, httpx.MockTransport(api))
    assert await s.flush(timeout=5)
    await s.client.aclose()
    assert seen == [[f"cc1:{i}" for i in range(s, min(s + 4, 10))] for s in (0, 4, 8)]
    assert len(buffer) == 0
    buffer.close()


async def test_api_errors_keep_everything_buffered(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.sqlite3")
    buffer.append(events(3))
    failing = sender(buffer, httpx.MockTransport(lambda request: httpx.Response(503)))
    assert not await failing.flush(timeout=1)
    await failing.client.aclose()
    assert len(buffer) == 3
    buffer.close()


async def test_one_refused_event_is_set_aside_and_the_rest_delivered(tmp_path: Path) -> None:
    stored: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        ids = [e["id"] for e in json.loads(request.content)["events"]]
        if "cc1:2" in ids:
            return httpx.Response(422, json={"detail": "bad"})
        stored.extend(ids)
        return httpx.Response(200, json={"accepted": len(ids), "duplicates": 0})

    buffer = DiskBuffer(tmp_path / "b.sqlite3")
    buffer.append(events(6))
    s = sender(buffer, httpx.MockTransport(api))
    assert await s.flush(timeout=5)
    await s.client.aclose()
    assert stored == ["cc1:0", "cc1:1", "cc1:3", "cc1:4", "cc1:5"]
    assert (len(buffer), buffer.rejected()) == (0, 1)
    buffer.close()


def test_removing_a_batch_leaves_rows_added_since_and_the_rest(tmp_path: Path) -> None:
    buffer = DiskBuffer(tmp_path / "b.sqlite3")
    buffer.append(events(6))
    buffer.reject(buffer.peek(1)[0][0], "422")  # cc1:0 set aside: the batch starts past it
    batch = buffer.peek(3)
    buffer.append(events(2))
    buffer.remove(batch[0][0], batch[-1][0])
    left = [json.loads(body)["id"] for _, body in buffer.peek(10)]
    assert left == ["cc1:4", "cc1:5", "cc1:0", "cc1:1"]
    assert buffer.rejected() == 1
    buffer.close()
