"""The collector process's core: one node session feeding the disk buffer, one sender."""

from __future__ import annotations

import asyncio
import time

import httpx

from collector._backoff import Backoff
from collector._buffer import DiskBuffer
from collector._call_log import log_event
from collector._events import ReceivedEvent
from collector._queue_log import QueueLogSync
from collector._sender import Sender
from collector._session import NodeSession
from collector._settings import CollectorSettings
from collector._status import StatusReporter

# Seconds before the gap that the reconcile sends too.
RECONCILE_MARGIN = 120


class Collector:
    """Run with ``await collector.run()``; ``stop()`` ends it after a last flush."""

    def __init__(self, settings: CollectorSettings) -> None:
        self.settings = settings
        self.buffer = DiskBuffer(settings.buffer_dir / f"{settings.node}.sqlite3")
        self.session = NodeSession(settings, self._sink)
        self.sender: Sender | None = None
        self.reporter: StatusReporter | None = None
        self.received = 0
        self._pending: list[ReceivedEvent] = []
        self._flush_scheduled = False
        self.queue_log: QueueLogSync | None = None
        self._reconciles: set[asyncio.Task[None]] = set()

    def _sink(self, event: ReceivedEvent) -> None:
        # Group commit: events of one loop turn are written in one transaction, and only
        # the disk buffer is ever delivered, so nothing is sent before it is on disk.
        self._pending.append(event)
        self.received += 1
        log_event(event)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        events, self._pending = self._pending, []
        self.buffer.append(events)
        if self.sender is not None:
            self.sender.wake()

    async def run(self) -> None:
        s = self.settings
        headers = {"Authorization": f"Bearer {s.token()}"}
        async with httpx.AsyncClient(base_url=s.api_url, headers=headers, timeout=10) as client:
            self.sender = Sender(
                self.buffer,
                client,
                batch_size=s.batch_size,
                linger=s.linger,
                max_in_flight=s.max_in_flight,
                backoff=Backoff(s.backoff_min, s.backoff_max),
            )
            self.reporter = StatusReporter(self.session, self.buffer, client, s.status_interval)
            if s.queue_log is not None:
                backoff = Backoff(s.backoff_min, s.backoff_max)
                self.queue_log = QueueLogSync(s.queue_log, s.node, client, backoff)
                self.session.on_login = self._reconcile
            reporting = asyncio.create_task(self.reporter.run())
            try:
                await asyncio.gather(self.session.run(), self.sender.run())
                await self.sender.flush(timeout=5)
            finally:
                for task in [reporting, *self._reconciles]:
                    task.cancel()
                await asyncio.gather(reporting, *self._reconciles, return_exceptions=True)
                self.buffer.close()

    def _reconcile(self, lost_at: float | None) -> None:
        """Send queue_log's lines since the last session ended (less a margin for the
        clocks and the events in flight), or reconcile_seconds back at the first login."""
        if self.queue_log is None:
            return
        if lost_at is None:
            since = time.time() - self.settings.reconcile_seconds
        else:
            since = lost_at - RECONCILE_MARGIN
        task = asyncio.create_task(self.queue_log.send_since(int(since)))
        self._reconciles.add(task)
        task.add_done_callback(self._reconciles.discard)

    def stop(self) -> None:
        if self.queue_log is not None:
            self.queue_log.stop()
        self.session.stop()
        if self.sender is not None:
            self.sender.stop()
        if self.reporter is not None:
            self.reporter.stop()
