"""Deliver the disk buffer to ``POST /events`` in batches, at least once.

Up to ``max_in_flight`` batches are posted at once, so they may be stored out of order;
the API derives each call from all its events and ignores ids it has, so order and
re-sends don't matter. A batch leaves the buffer only once the API answered 200.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import httpx

from collector._backoff import Backoff
from collector._buffer import DiskBuffer

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
        max_in_flight: int = 1,
    ) -> None:
        self.buffer = buffer
        self.client = client
        self.batch_size = batch_size
        self.linger = linger
        self.backoff = backoff
        self.max_in_flight = max(1, max_in_flight)
        self.delivered = 0  # events the API stored or already had
        self.rejected = 0  # events the API refused (422), set aside
        # When a batch was last delivered (time.monotonic()); readiness looks at it.
        self.delivered_at: float | None = None
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        in_flight: set[asyncio.Task[bool]] = set()
        after = 0  # the last seq handed to a delivery: the next batch starts past it
        try:
            while not self._stopping:
                self._wake.clear()  # before the peek: a later wake is for rows it missed
                if len(in_flight) < self.max_in_flight:
                    rows = self.buffer.peek(self.batch_size, after)
                    if rows:
                        if len(rows) < self.batch_size and self.linger > 0:
                            await asyncio.sleep(self.linger)
                            rows = self.buffer.peek(self.batch_size, after)
                        after = rows[-1][0]
                        in_flight.add(asyncio.create_task(self._deliver(rows)))
                        continue
                if await self._settle(in_flight):
                    self.backoff.reset()
                else:
                    # Resend from the oldest row still buffered once the others are done.
                    await asyncio.gather(*in_flight)
                    in_flight.clear()
                    after = 0
                    await asyncio.sleep(self.backoff.next())
        finally:
            await asyncio.gather(*in_flight)

    async def _settle(self, in_flight: set[asyncio.Task[bool]]) -> bool:
        """Wait for a delivery to end or for new rows (1 s at most); False if one failed."""
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait(
                {*in_flight, waiter}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        ended = done & in_flight
        in_flight -= ended
        return all(task.result() for task in ended)

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
            self.buffer.remove(rows[0][0], rows[-1][0])
            self._delivered(len(rows))
            return True
        if status == 422:
            # One bad event must not block the rest: find it and set it aside.
            for seq, body in rows:
                single = await self._post([body])
                if single == 200:
                    self.buffer.remove(seq, seq)
                    self._delivered(1)
                elif single == 422:
                    log.error("API refused event %s; set aside", json.loads(body).get("id"))
                    self.buffer.reject(seq, "422")
                    self.rejected += 1
                else:
                    return False
            return True
        return False

    def _delivered(self, count: int) -> None:
        self.delivered += count
        self.delivered_at = time.monotonic()

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
