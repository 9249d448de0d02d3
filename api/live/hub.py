"""``LiveHub``: one per app; reads new ``live_event`` rows and fans them out to subscribers.

A hub wakes when this process commits a publish, when PostgreSQL delivers a ``NOTIFY
lapor_live`` (another replica published), and every ``poll_seconds`` in case a
notification was lost while its listener reconnected. Each wake reads every row past
``last_id`` in one query. A subscriber whose queue fills up is dropped: its stream ends,
and the browser reconnects with Last-Event-ID and catches up from the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from sqlalchemy import Engine, delete, func
from sqlmodel import Session, col, select

from api.core.clock import as_utc
from api.core.db import is_postgres
from api.live.models import LiveEvent
from api.live.publish import CHANNEL, register_waker, unregister_waker

log = logging.getLogger(__name__)

BATCH = 1000
CLEANUP_SECONDS = 300.0
LISTEN_IDLE_SECONDS = 30.0  # a listener idle this long checks its connection is alive
BACKOFF_MAX_SECONDS = 10.0


class Waitable(Protocol):
    """An event to wait for (asyncio's or anyio's)."""

    def wait(self) -> Awaitable[object]: ...


@dataclass(frozen=True)
class LiveMessage:
    id: int
    topic: str
    kind: str
    data: dict[str, Any]
    at: datetime


@dataclass(eq=False)
class _Subscriber:
    topics: frozenset[str]
    queue: asyncio.Queue[LiveMessage | None] = field(default_factory=asyncio.Queue)
    dropped: bool = False


def _message(row: LiveEvent) -> LiveMessage:
    assert row.id is not None
    return LiveMessage(row.id, row.topic, row.kind, row.data, as_utc(row.at))


class LiveHub:
    """Fan-out of live events for one app (``app.state.live``); ``start``/``stop`` in its
    lifespan."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: timedelta = timedelta(hours=24),
        poll_seconds: float = 5.0,
        queue_size: int = 1000,
        cleanup_seconds: float = CLEANUP_SECONDS,
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self.cleanup_seconds = cleanup_seconds
        # None until the newest id is known (the table may not exist yet at start-up).
        self.last_id: int | None = None
        # The PostgreSQL listener's backend pid while it is listening (tests kill it).
        self.listener_pid: int | None = None
        self.listening = asyncio.Event()
        self._subscribers: set[_Subscriber] = set()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._last_cleanup = 0.0

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.listening = asyncio.Event()
        self._wake = asyncio.Event()
        self._closed = False
        self.last_id = None
        with contextlib.suppress(Exception):  # the next wake tries again
            self.last_id = await asyncio.to_thread(self._max_id)
        register_waker(self.engine, self.wake)
        self._tasks = [asyncio.create_task(self._run(), name="live-hub")]
        if is_postgres(self.engine):
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))

    async def stop(self) -> None:
        """Stop reading and end every subscriber's stream."""
        self._closed = True
        unregister_waker(self.engine, self.wake)
        # The reader finishes the query it is in (a thread can't be cancelled, and its
        # connection must be back in the pool before the engine is disposed); the
        # listener is cancelled, and closes its connection on the way out.
        self._wake.set()
        for task in self._tasks[1:]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for subscriber in list(self._subscribers):
            self._drop(subscriber)

    def wake(self) -> None:
        """Read new rows soon; safe from any thread (called after a publishing commit)."""
        loop = self._loop
        if loop is None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(self._wake.set)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    # -- subscribers -----------------------------------------------------------------

    async def subscribe(
        self, topics: frozenset[str], last_event_id: int | None, *, until: Waitable | None = None
    ) -> AsyncIterator[LiveMessage]:
        """Events of ``topics`` in id order, each once: those after ``last_event_id`` still
        kept (none if it is None), then live ones. The stream ends if the hub stops, when
        ``until`` is set, or if this subscriber falls more than ``queue_size`` events
        behind (reconnect from the last id)."""
        subscriber = _Subscriber(frozenset(topics))
        if last_event_id is None:
            # "From now" is the newest id read before registering: a row committed between
            # that read and the registration is in the backlog below, not skipped as sent.
            last_event_id = await asyncio.to_thread(self._max_id)
        # Registered before the backlog is read: a row committed meanwhile is either in the
        # backlog or queued (or both: ``sent`` skips the second copy).
        self._subscribers.add(subscriber)
        stopper = asyncio.create_task(self._drop_at(until, subscriber)) if until else None
        try:
            newest = await asyncio.to_thread(self._max_id)
            if last_event_id > newest:
                # An id this database never gave (it was recreated): start from now, or
                # the stream would skip everything up to that id.
                last_event_id = newest
            sent = last_event_id
            if topics:
                while True:
                    backlog = await asyncio.to_thread(self._backlog, subscriber.topics, sent)
                    for message in backlog:
                        sent = message.id
                        yield message
                    if len(backlog) < BATCH:
                        break
            while not self._closed:
                queued = await subscriber.queue.get()
                if queued is None or subscriber.dropped:
                    return
                if queued.id > sent:
                    sent = queued.id
                    yield queued
        finally:
            self._subscribers.discard(subscriber)
            if stopper is not None:
                stopper.cancel()

    async def _drop_at(self, until: Waitable, subscriber: _Subscriber) -> None:
        await until.wait()
        self._drop(subscriber)

    def _drop(self, subscriber: _Subscriber) -> None:
        subscriber.dropped = True
        self._subscribers.discard(subscriber)
        subscriber.queue.put_nowait(None)

    def _fan_out(self, messages: list[LiveMessage]) -> None:
        for message in messages:
            for subscriber in list(self._subscribers):
                if message.topic not in subscriber.topics:
                    continue
                if subscriber.queue.qsize() >= self.queue_size:
                    log.info("live subscriber %s fell behind; dropped", sorted(subscriber.topics))
                    self._drop(subscriber)
                else:
                    subscriber.queue.put_nowait(message)

    # -- reading -----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            if self._closed:
                return
            try:
                await self._read_new()
                await self._maybe_clean_up()
            except Exception as exc:  # the database is down: again at the next wake or poll
                log.warning("live hub could not read new events: %s", exc)
                await asyncio.sleep(1.0)

    async def _read_new(self) -> None:
        if self.last_id is None:
            self.last_id = await asyncio.to_thread(self._max_id)
            return
        while True:
            messages = await asyncio.to_thread(self._after, self.last_id)
            if messages:
                self.last_id = messages[-1].id
                self._fan_out(messages)
            if len(messages) < BATCH:
                return

    async def _maybe_clean_up(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_cleanup >= self.cleanup_seconds:
            self._last_cleanup = now
            await asyncio.to_thread(self.clean_up)

    def clean_up(self) -> int:
        """Delete events older than the keep window; return how many went."""
        cutoff = datetime.now(UTC) - self.keep
        with Session(self.engine) as session:
            result = session.execute(delete(LiveEvent).where(col(LiveEvent.at) < cutoff))
            session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _max_id(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(sa.select(func.max(LiveEvent.id))).scalar() or 0)

    def _after(self, last_id: int) -> list[LiveMessage]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(LiveEvent)
                .where(col(LiveEvent.id) > last_id)
                .order_by(col(LiveEvent.id))
                .limit(BATCH)
            ).all()
            return [_message(row) for row in rows]

    def _backlog(self, topics: frozenset[str], after: int) -> list[LiveMessage]:
        cutoff = datetime.now(UTC) - self.keep
        with Session(self.engine) as session:
            rows = session.exec(
                select(LiveEvent)
                .where(
                    col(LiveEvent.id) > after,
                    col(LiveEvent.topic).in_(sorted(topics)),
                    col(LiveEvent.at) >= cutoff,
                )
                .order_by(col(LiveEvent.id))
                .limit(BATCH)
            ).all()
            return [_message(row) for row in rows]

    # -- PostgreSQL LISTEN -------------------------------------------------------------

    def _dsn(self) -> str:
        url = self.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        connecting = asyncio.ensure_future(
            psycopg.AsyncConnection.connect(self._dsn(), autocommit=True, connect_timeout=5)
        )
        try:
            return await asyncio.shield(connecting)
        except asyncio.CancelledError:
            # Cancelled mid-connect (the hub stopping): close the connection if it came.
            with contextlib.suppress(Exception):
                await (await connecting).close()
            raise

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with await self._connect() as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listener_pid = connection.info.backend_pid
                    self.listening.set()
                    backoff = 0.1
                    # Whatever was published while no listener was connected.
                    self._wake.set()
                    while True:
                        async for _ in connection.notifies(timeout=LISTEN_IDLE_SECONDS):
                            self._wake.set()
                        await connection.execute("SELECT 1")  # idle: still alive?
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live listener lost its connection (%s); retrying", exc)
            self.listening.clear()
            self.listener_pid = None
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
