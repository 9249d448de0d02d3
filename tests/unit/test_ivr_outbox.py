"""The durable outbox and its delivery, against a fake API (httpx MockTransport)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ivr.lapor_api import LaporApi
from ivr.outbox import Deliverer, Outbox

COMPLAINT = {"ticket": "10000001", "category": "lainnya"}


class FakeApi:
    """Stores complaints by ticket like the real API; can be switched off."""

    def __init__(self) -> None:
        self.up = True
        self.stored: dict[str, dict[str, object]] = {}
        self.refused: list[dict[str, object]] = []
        self.refuse_held = False
        self.posts = 0
        self.got_one = asyncio.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        self.posts += 1
        assert request.headers["Authorization"] == "Bearer secret"
        body = json.loads(request.content)
        if request.url.path == "/complaints/refused":
            if self.refuse_held:
                return httpx.Response(422, json={"error": "invalid_input"})
            self.refused.append(body)
            return httpx.Response(201, json={"id": len(self.refused)})
        if body.get("category") == "bogus":
            return httpx.Response(422, json={"error": "invalid_input"})
        known = body["ticket"] in self.stored
        self.stored.setdefault(body["ticket"], body)
        self.got_one.set()
        return httpx.Response(200 if known else 201, json=body)

    def client(self) -> LaporApi:
        return LaporApi("http://api", "secret", transport=httpx.MockTransport(self.handle))


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
async def deliverer(fake: FakeApi, tmp_path: Path) -> AsyncIterator[Deliverer]:
    """Delivery from an outbox in ``tmp_path`` to ``fake``; its client is closed after."""
    api = fake.client()
    yield Deliverer(Outbox(tmp_path), api)
    await api.aclose()


def test_put_is_atomic_and_pending_reads_it_back(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    record = outbox.put("complaint", "10000001", COMPLAINT)
    assert record.path.name == "complaint-10000001.json"
    assert [p.name for p in outbox.dir.iterdir()] == ["complaint-10000001.json"]  # no temp left
    [again] = Outbox(tmp_path).pending()
    assert (again.kind, again.key, again.payload) == ("complaint", "10000001", COMPLAINT)


def test_unreadable_record_is_set_aside(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.dir.mkdir(parents=True)
    (outbox.dir / "complaint-broken.json").write_text("{not json")
    assert outbox.pending() == []
    assert (outbox.rejected_dir / "complaint-broken.json").exists()


async def test_api_down_keeps_the_record_until_it_returns_then_exactly_once(
    fake: FakeApi, deliverer: Deliverer
) -> None:
    fake.up = False
    record = deliverer.outbox.put("complaint", "10000001", COMPLAINT)
    assert await deliverer.deliver(record) is False
    assert await deliverer.flush() == 1
    assert record.path.exists()
    fake.up = True
    assert await deliverer.flush() == 0
    assert not record.path.exists()
    # Redelivery (a retry after a timeout, another process) stores nothing new.
    again = deliverer.outbox.put("complaint", "10000001", COMPLAINT)
    assert await deliverer.deliver(again) is True
    assert list(fake.stored) == ["10000001"]


async def test_a_refused_complaint_goes_to_the_apis_refused_list_and_blocks_nothing(
    fake: FakeApi, deliverer: Deliverer
) -> None:
    bogus = {**COMPLAINT, "category": "bogus", "uniqueid": "1795890124.7"}
    deliverer.outbox.put("complaint", "10000001", bogus)
    deliverer.outbox.put("complaint", "10000002", {**COMPLAINT, "ticket": "10000002"})
    assert await deliverer.flush() == 0
    assert list(fake.stored) == ["10000002"]
    # Not set aside where nobody looks: the API keeps it for a supervisor.
    [held] = fake.refused
    assert held["complaint"] == bogus
    assert held["status_code"] == 422
    assert "invalid_input" in str(held["reason"])
    assert deliverer.outbox.pending() == []
    assert not deliverer.outbox.rejected_dir.exists()


async def test_the_refused_list_unreachable_keeps_the_complaint_on_disk(
    fake: FakeApi, deliverer: Deliverer
) -> None:
    deliverer.outbox.put("complaint", "10000001", {**COMPLAINT, "category": "bogus"})
    api, original = deliverer.api, fake.handle

    def refused_down(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/complaints/refused":
            raise httpx.ConnectError("connection refused", request=request)
        return original(request)

    deliverer.api = LaporApi("http://api", "secret", transport=httpx.MockTransport(refused_down))
    assert await deliverer.flush() == 1
    [pending] = deliverer.outbox.pending()
    assert pending.kind == "refused"
    assert pending.payload["complaint"]["category"] == "bogus"
    await deliverer.api.aclose()
    deliverer.api = api
    assert await deliverer.flush() == 0
    assert len(fake.refused) == 1


async def test_only_a_record_the_api_refuses_even_as_refused_is_set_aside(
    fake: FakeApi, deliverer: Deliverer
) -> None:
    fake.refuse_held = True
    deliverer.outbox.put("complaint", "10000001", {**COMPLAINT, "category": "bogus"})
    assert await deliverer.flush() == 0
    [aside] = deliverer.outbox.rejected_dir.iterdir()
    assert aside.name.startswith("refused-10000001")


async def test_run_loop_delivers_once_the_api_is_back(fake: FakeApi, deliverer: Deliverer) -> None:
    fake.up = False
    deliverer.outbox.put("complaint", "10000001", COMPLAINT)
    stop = asyncio.Event()
    loop = asyncio.create_task(deliverer.run(stop, interval=0.01))
    await asyncio.sleep(0.05)
    assert fake.stored == {}
    fake.up = True
    await asyncio.wait_for(fake.got_one.wait(), 5)
    stop.set()
    await loop
    assert deliverer.outbox.pending() == []


async def test_an_api_outage_drains_in_the_order_taken_and_each_once(
    fake: FakeApi, deliverer: Deliverer
) -> None:
    fake.up = False
    tickets = [f"1000{n:04d}" for n in range(12)]
    for ticket in tickets:
        record = deliverer.outbox.put("complaint", ticket, {**COMPLAINT, "ticket": ticket})
        assert await deliverer.deliver(record) is False  # the IVR's own try, during the call
    assert deliverer.outbox.backlog()[0] == len(tickets)
    fake.up = True
    assert await deliverer.flush() == 0
    assert list(fake.stored) == tickets  # the order the citizens gave them
    assert fake.posts == len(tickets)  # none sent twice
    assert deliverer.outbox.backlog()[0] == 0
