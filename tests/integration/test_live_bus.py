"""The live bus (api/live): publish in a transaction, fan-out after commit, catch-up by
Last-Event-ID, overflow, two replicas on one PostgreSQL, and SSE over real HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col
from sse_starlette import EventSourceResponse

from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.live import LiveEvent, LiveHub, LiveMessage, event_stream, latest_id, publish
from api.main import create_app
from tests.e2e.services import free_port

TIMEOUT = 10.0
NEVER = 3600.0  # a fallback poll that never comes within a test


def make_app(url: str, *, poll_seconds: float = 5.0) -> FastAPI:
    app = create_app(ApiSettings(database_url=url, live_poll_seconds=poll_seconds))
    upgrade(app.state.engine)
    return app


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[LiveHub]:
    async with app.router.lifespan_context(app):
        yield app.state.live


def send(engine: Engine, *events: tuple[str, str, dict[str, Any]]) -> None:
    """Publish ``events`` in one committed transaction."""
    with Session(engine) as session:
        for topic, kind, data in events:
            publish(session, topic, kind, data)
        session.commit()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (up to TIMEOUT) for state that another task or thread changes."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


class Reader:
    """A subscriber that reads eagerly into a queue, so a test can wait for messages."""

    def __init__(self, hub: LiveHub, topics: set[str], last_event_id: int | None) -> None:
        self.messages: asyncio.Queue[LiveMessage] = asyncio.Queue()
        self.task = asyncio.create_task(self._read(hub.subscribe(frozenset(topics), last_event_id)))

    async def _read(self, stream: AsyncIterator[LiveMessage]) -> None:
        async for message in stream:
            await self.messages.put(message)

    async def take(self, count: int) -> list[tuple[str, str, dict[str, Any]]]:
        async with asyncio.timeout(TIMEOUT):
            got = [await self.messages.get() for _ in range(count)]
        assert [m.id for m in got] == sorted({m.id for m in got}), "in id order, each once"
        return [(m.topic, m.kind, m.data) for m in got]

    async def close(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def _one(subscriber: Reader) -> AsyncIterator[LiveMessage]:
    async with asyncio.timeout(TIMEOUT):
        yield await subscriber.messages.get()


async def reader(hub: LiveHub, topics: set[str], last_event_id: int | None = None) -> Reader:
    """A Reader that is registered with the hub (so it gets whatever is published next)."""
    before = hub.subscriber_count
    subscriber = Reader(hub, topics, last_event_id)
    await until(lambda: hub.subscriber_count > before)
    return subscriber


def test_publish_refuses_what_does_not_fit(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    with Session(engine) as session:
        with pytest.raises(ValueError, match="topic"):
            publish(session, "x" * 97, "ring", {})
        with pytest.raises(ValueError, match="kind"):
            publish(session, "agent:budi", "k" * 33, {})
        with pytest.raises(ValueError, match="4096"):
            publish(session, "agent:budi", "ring", {"text": "a" * 4096})
        with pytest.raises(ValueError, match="JSON"):
            publish(session, "agent:budi", "ring", {"at": object()})
    engine.dispose()


async def test_delivered_after_commit_never_after_rollback(database_url: str) -> None:
    app = make_app(database_url, poll_seconds=NEVER)
    async with running(app) as hub:
        budi = await reader(hub, {"agent:budi"})
        with Session(app.state.engine) as session:
            publish(session, "agent:budi", "ring", {"n": 1})
            session.rollback()
        send(app.state.engine, ("agent:budi", "ring", {"n": 2}))
        [message] = [m async for m in _one(budi)]
        assert (message.data, message.at.tzinfo) == ({"n": 2}, UTC)
        send(app.state.engine, ("agent:budi", "state", {"n": 3}))
        assert await budi.take(1) == [("agent:budi", "state", {"n": 3})]
        await budi.close()


async def test_last_event_id_catches_up_exactly_the_missed_rows(database_url: str) -> None:
    app = make_app(database_url)
    engine = app.state.engine
    async with running(app) as hub:
        for n in range(1, 6):
            send(engine, ("agent:budi", "state", {"n": n}), ("agent:sari", "state", {"n": n}))
            if n == 2:
                with Session(engine) as session:
                    seen = latest_id(session)
        budi = await reader(hub, {"agent:budi"}, seen)
        assert await budi.take(3) == [("agent:budi", "state", {"n": n}) for n in (3, 4, 5)]
        send(engine, ("agent:budi", "state", {"n": 6}))
        assert await budi.take(1) == [("agent:budi", "state", {"n": 6})]
        # None: only what comes next, no backlog.
        fresh = await reader(hub, {"agent:budi"})
        send(engine, ("agent:budi", "state", {"n": 7}))
        assert await fresh.take(1) == [("agent:budi", "state", {"n": 7})]
        await budi.close()
        await fresh.close()


async def test_an_id_the_database_never_gave_starts_from_now(database_url: str) -> None:
    app = make_app(database_url)
    async with running(app) as hub:
        send(app.state.engine, ("agent:budi", "state", {"n": 1}))
        stale = await reader(hub, {"agent:budi"}, 10**9)  # from before the database was reset
        send(app.state.engine, ("agent:budi", "state", {"n": 2}))
        assert await stale.take(1) == [("agent:budi", "state", {"n": 2})]
        await stale.close()


def test_old_events_are_deleted_and_ids_never_reused(database_url: str) -> None:
    settings = ApiSettings(database_url=database_url, live_keep_hours=2)
    app = create_app(settings)
    engine = app.state.engine
    upgrade(engine)
    hub: LiveHub = app.state.live
    assert hub.keep == timedelta(hours=2)
    send(engine, ("agent:budi", "state", {"n": 1}), ("agent:budi", "state", {"n": 2}))
    with Session(engine) as session:
        first = latest_id(session)
        session.execute(
            update(LiveEvent)
            .where(col(LiveEvent.id) < first)
            .values(at=datetime.now(UTC) - timedelta(hours=3))
        )
        session.commit()
    assert hub.clean_up() == 1
    assert hub.clean_up() == 0
    with Session(engine) as session:
        session.execute(update(LiveEvent).values(at=datetime.now(UTC) - timedelta(hours=3)))
        session.commit()
    assert hub.clean_up() == 1  # the table is empty now
    send(engine, ("agent:budi", "state", {"n": 3}))
    with Session(engine) as session:
        assert latest_id(session) == first + 1  # not 1 again: old Last-Event-IDs stay valid
    engine.dispose()


async def test_each_subscriber_gets_only_its_topics(database_url: str) -> None:
    app = make_app(database_url)
    engine = app.state.engine
    async with running(app) as hub:
        budi = await reader(hub, {"agent:budi"})
        sari = await reader(hub, {"agent:sari", "supervisors"})
        send(
            engine,
            ("agent:budi", "ring", {"n": 1}),
            ("agent:sari", "ring", {"n": 2}),
            ("supervisors", "state", {"n": 3}),
            ("agent:ani", "ring", {"n": 4}),
        )
        send(engine, ("agent:budi", "end", {}), ("supervisors", "end", {}))
        assert await budi.take(2) == [("agent:budi", "ring", {"n": 1}), ("agent:budi", "end", {})]
        assert await sari.take(3) == [
            ("agent:sari", "ring", {"n": 2}),
            ("supervisors", "state", {"n": 3}),
            ("supervisors", "end", {}),
        ]
        await budi.close()
        await sari.close()


async def test_an_overflowing_subscriber_is_dropped_and_catches_up(database_url: str) -> None:
    app = make_app(database_url)
    engine = app.state.engine
    async with running(app) as hub:
        hub.queue_size = 3
        stream = hub.subscribe(frozenset({"agent:budi"}), None)
        first = asyncio.ensure_future(anext(stream))
        await until(lambda: hub.subscriber_count == 1)
        send(engine, ("agent:budi", "ring", {"n": 0}))
        got = await asyncio.wait_for(first, TIMEOUT)
        # Five in one transaction: the hub reads them at once and the queue of 3 overflows.
        send(engine, *(("agent:budi", "state", {"n": n}) for n in range(1, 6)))
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), TIMEOUT)
        assert hub.subscriber_count == 0
        again = await reader(hub, {"agent:budi"}, got.id)
        assert await again.take(5) == [("agent:budi", "state", {"n": n}) for n in range(1, 6)]
        await again.close()


async def test_concurrent_publishers_are_delivered_in_id_order_and_none_missed(
    database_url: str,
) -> None:
    """Ids are handed out in commit order (PostgreSQL: the publish lock), so a hub that
    has read past an id never finds an earlier one committed later."""
    app = make_app(database_url, poll_seconds=NEVER)
    engine = app.state.engine
    async with running(app) as hub:
        everyone = await reader(hub, {"supervisors"})

        def publisher(worker: int) -> None:
            for n in range(25):
                send(engine, ("supervisors", "state", {"worker": worker, "n": n}))

        await asyncio.gather(*(asyncio.to_thread(publisher, w) for w in range(4)))
        got = await everyone.take(100)  # take() checks the ids ascend, each once
        assert sorted((d["worker"], d["n"]) for _, _, d in got) == [
            (w, n) for w in range(4) for n in range(25)
        ]
        for worker in range(4):
            assert [d["n"] for _, _, d in got if d["worker"] == worker] == list(range(25))
        await everyone.close()


async def test_a_replica_gets_what_another_published_through_notify(postgres_url: str) -> None:
    a = make_app(postgres_url, poll_seconds=NEVER)
    b = make_app(postgres_url, poll_seconds=NEVER)
    async with running(a), running(b) as hub_b:
        await asyncio.wait_for(hub_b.listening.wait(), TIMEOUT)
        budi = await reader(hub_b, {"agent:budi"})
        send(a.state.engine, ("agent:budi", "ring", {"from": "a"}))
        assert await budi.take(1) == [("agent:budi", "ring", {"from": "a"})]
        await budi.close()


async def test_the_listener_reconnects_and_delivers_what_it_missed(postgres_url: str) -> None:
    app = make_app(postgres_url, poll_seconds=NEVER)
    other = make_engine(postgres_url)  # another replica: no hub of this process to wake
    try:
        async with running(app) as hub:
            await asyncio.wait_for(hub.listening.wait(), TIMEOUT)
            killed = hub.listener_pid
            budi = await reader(hub, {"agent:budi"})
            with other.begin() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
            send(other, ("agent:budi", "ring", {"n": 1}))  # while the listener is down
            await until(lambda: hub.listener_pid not in (None, killed))
            send(other, ("agent:budi", "ring", {"n": 2}))  # through the new LISTEN
            assert await budi.take(2) == [
                ("agent:budi", "ring", {"n": 1}),
                ("agent:budi", "ring", {"n": 2}),
            ]
            await budi.close()
    finally:
        other.dispose()


# -- over real HTTP ------------------------------------------------------------------------


def with_test_route(app: FastAPI) -> FastAPI:
    @app.get("/test/events")
    def events(request: Request) -> EventSourceResponse:
        return event_stream(request, frozenset({"agent:budi"}))

    return app


def served_app() -> FastAPI:
    """For ``uvicorn --factory`` (the database from LAPOR_API_DATABASE_URL)."""
    return with_test_route(make_app(ApiSettings().database_url))


class Server:
    """The app under uvicorn in a thread, with a test-only SSE route."""

    def __init__(self, app: FastAPI) -> None:
        self.app = with_test_route(app)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        assert not self.thread.is_alive(), "uvicorn did not stop"


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Each SSE event (its fields) as it arrives; comments and pings are skipped."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields or "retry" in fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


@pytest.fixture
def server(database_url: str) -> Iterator[Server]:
    app = make_app(database_url)
    with Server(app) as running_server:
        yield running_server


async def test_sse_over_http_resumes_from_last_event_id(server: Server) -> None:
    engine = server.app.state.engine
    send(engine, ("agent:budi", "ring", {"n": 1}), ("agent:sari", "ring", {"n": 0}))
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        bad = await client.get("/test/events", headers={"Last-Event-ID": "-3"})
        assert bad.status_code == 400
        assert bad.json()["error"] == "bad_last_event_id"

        async with client.stream("GET", "/test/events", headers={"Last-Event-ID": "0"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            stream = sse_events(r)
            async with asyncio.timeout(TIMEOUT):
                assert (await anext(stream))["retry"] == "2000"
                one = await anext(stream)
                assert (one["event"], json.loads(one["data"])) == ("ring", {"n": 1})
                send(engine, ("agent:budi", "state", {"n": 2}))
                two = await anext(stream)
                assert (two["event"], json.loads(two["data"])) == ("state", {"n": 2})
                assert int(two["id"]) > int(one["id"])
        hub: LiveHub = server.app.state.live
        await until(lambda: hub.subscriber_count == 0)  # the server saw the disconnect

        send(engine, ("agent:budi", "state", {"n": 3}))
        send(engine, ("agent:budi", "end", {"n": 4}))
        headers = {"Last-Event-ID": two["id"]}
        async with client.stream("GET", "/test/events", headers=headers) as r:
            stream = sse_events(r)
            async with asyncio.timeout(TIMEOUT):
                await anext(stream)  # retry
                missed = [await anext(stream), await anext(stream)]
        assert [(e["event"], json.loads(e["data"])) for e in missed] == [
            ("state", {"n": 3}),
            ("end", {"n": 4}),
        ]


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The test app served by a ``python -m uvicorn`` process (signals as in production)."""
    port = free_port()
    env = {**os.environ, "LAPOR_API_DATABASE_URL": sqlite_url}
    command = [sys.executable, "-m", "uvicorn", "--factory", f"{__name__}:served_app"]
    command += ["--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


async def test_open_streams_end_cleanly_when_the_server_stops(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    """SIGTERM to a served API: each open stream ends as a complete response (no error
    per connection in the log) and the process exits promptly."""
    url, server = served
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        async with asyncio.timeout(30):
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        async with client.stream("GET", "/test/events") as response:
            stream = sse_events(response)
            async with asyncio.timeout(TIMEOUT):
                assert (await anext(stream))["retry"] == "2000"
                server.send_signal(signal.SIGTERM)
                assert [event async for event in stream] == []  # ends, and without an error
    _, log = await asyncio.to_thread(server.communicate, timeout=TIMEOUT)
    assert "ERROR" not in log, log
