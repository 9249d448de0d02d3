"""The collector's own reconcile: after every AMI login, the node's queue_log lines since
the session before ended go to ``POST /queue-log/{node}``.

Events Asterisk sent while no collector listened (a collector restart, a network cut, an
Asterisk restart in the second before the collector logged in again) are gone from AMI
for good; queue_log has them. The API stores lines idempotently, so sending a line it
already has (from AMI or an earlier send) changes nothing, and a margin before the gap
costs only duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx

from collector._backoff import Backoff

log = logging.getLogger(__name__)

CHUNK_LINES = 1000  # under the API's limit per request (api/queue_log/routes.py)
MAX_LINE = 2048


def lines_since(path: Path, since: int) -> Iterator[str]:
    """The file's lines stamped ``since`` (epoch) or later, in file order. A line too long
    to be queue_log's, or not stamped, is skipped (the API would refuse it anyway)."""
    with path.open("rb") as raw:
        for data in raw:
            if len(data) > MAX_LINE:
                continue
            epoch, _, _ = data.partition(b"|")
            if epoch.isdigit() and int(epoch) >= since:
                yield data.decode("utf-8", "replace").rstrip("\r\n")


class QueueLogSync:
    """Send the lines since an epoch; retried with backoff until the API takes them all."""

    def __init__(self, path: Path, node: str, client: httpx.AsyncClient, backoff: Backoff) -> None:
        self.path = path
        self.node = node
        self.client = client
        self.backoff = backoff
        self.sent = 0  # lines the API accepted as new (tests and logs)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def send_since(self, since: int) -> None:
        try:
            lines = await asyncio.to_thread(lambda: list(lines_since(self.path, since)))
        except OSError as exc:
            log.warning("queue_log %s not read: %s", self.path, exc.strerror or exc)
            return
        for start in range(0, len(lines), CHUNK_LINES):
            if not await self._send(lines[start : start + CHUNK_LINES]):
                return
        log.info(
            "queue_log reconcile of %s: %d line(s) since %d, %d new",
            self.node,
            len(lines),
            since,
            self.sent,
        )

    async def _send(self, chunk: list[str]) -> bool:
        self.backoff.reset()
        while not self._stopping.is_set():
            try:
                response = await self.client.post(
                    f"/queue-log/{self.node}", json={"lines": chunk}, timeout=60
                )
            except httpx.HTTPError as exc:
                log.warning("queue_log reconcile not sent: %s", exc or type(exc).__name__)
            else:
                if response.status_code == 200:
                    self.sent += int(response.json().get("accepted", 0))
                    return True
                log.warning(
                    "queue_log reconcile refused: %s %.200s", response.status_code, response.text
                )
                if response.status_code < 500:
                    return False  # it will refuse the same lines again
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.backoff.next())
        return False
