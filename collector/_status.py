"""The collector's report on itself to ``PUT /collectors/{node}``: AMI up or down and for
how long, and how many events wait in the disk buffer. Sent every ``status_interval``
seconds and at once when the AMI session goes up or down; the wallboard shows an outage
from it (api/collectors/service.py). A failed report is logged and tried again at the next
turn: it is never buffered, since only the latest one matters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from collector._buffer import DiskBuffer
from collector._session import NodeSession

log = logging.getLogger(__name__)


class StatusReporter:
    def __init__(
        self, session: NodeSession, buffer: DiskBuffer, client: httpx.AsyncClient, interval: float
    ) -> None:
        self.session = session
        self.buffer = buffer
        self.client = client
        self.interval = interval
        self.sent = 0  # reports the API accepted (tests and logs)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.session.state_changed.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self.session.state_changed.clear()
            await self.report()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.session.state_changed.wait(), self.interval)

    async def report(self) -> bool:
        s = self.session
        body = {
            "ami_connected": s.connected,
            "ami_state_seconds": round(time.monotonic() - s.state_changed_at, 3),
            "buffered": len(self.buffer),
        }
        try:
            response = await self.client.put(f"/collectors/{s.settings.node}", json=body)
        except httpx.HTTPError as exc:
            log.warning("status report not sent: %s", exc or type(exc).__name__)
            return False
        if response.status_code != 204:
            log.warning("status report refused: %s %.200s", response.status_code, response.text)
            return False
        self.sent += 1
        return True
