"""Deliver the disk buffer to ``POST /events`` in batches, at least once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import httpx

from api.ami._backoff import Backoff
from api.ami._buffer import DiskBuffer

log = logging.getLogger(__name__)


class Sender:
    def __init__(
        self,
        buffer: DiskBuffer,
        client: httpx.AsyncClient,
        *,
        batch_size: int,
        linger: float,
        backoff: Backoff,
    ) -> None:
        self.buffer = buffer
        self.client = client
        self.batch_size = batch_size
        self.linger = linger
        self.backoff = backoff
        self.delivered = 0
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            rows = self.buffer.peek(self.batch_size)
            if not rows:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            if len(rows) < self.batch_size and self.linger > 0:
                await asyncio.sleep(self.linger)
                rows = self.buffer.peek(self.batch_size)
            if await self._deliver(rows):
                self.backoff.reset()
            else:
                await asyncio.sleep(self.backoff.next())

    async def flush(self, timeout: float) -> bool:
        """Deliver what is buffered now (used at shutdown); True if the buffer emptied."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.buffer) and asyncio.get_running_loop().time() < deadline:
            if not await self._deliver(self.buffer.peek(self.batch_size)):
                return False
        return len(self.buffer) == 0

    async def _deliver(self, rows: list[tuple[int, str]]) -> bool:
        status = await self._post([body for _, body in rows])
        if status == 200:
            self.buffer.remove([seq for seq, _ in rows])
            self.delivered += len(rows)
            return True
        if status == 422:
            # One bad event must not block the rest: find it and set it aside.
            for seq, body in rows:
                single = await self._post([body])
                if single == 200:
                    self.buffer.remove([seq])
                elif single == 422:
                    log.error("API refused event %s; set aside", json.loads(body).get("id"))
                    self.buffer.reject(seq, "422")
                else:
                    return False
            return True
        return False

    async def _post(self, events: list[str]) -> int | None:
        # The buffer holds each envelope as JSON text: the body is spliced, not re-encoded.
        body = '{"events":[' + ",".join(events) + "]}"
        headers = {"Content-Type": "application/json"}
        try:
            response = await self.client.post("/events", content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            log.warning("API unreachable (%s); %d event(s) buffered", exc, len(self.buffer))
            return None
        if response.status_code != 200:
            log.warning("API answered %s: %.200s", response.status_code, response.text)
        return response.status_code
