"""A durable outbox: records the IVR must deliver to the API, kept on disk until they are.

Each record is one JSON file in ``<spool>/outbox/``, written to a temporary name,
fsync'd, renamed into place and the folder fsync'd, so after ``put`` returns the record
survives a crash or power loss. Delivery POSTs it; the API is idempotent on the record's
key (ticket, request id, or the rated call's linkedid), so a record sent twice (a retry
after a timeout, two processes racing) is still stored exactly once. A record is removed
only after the API has acknowledged it.

A complaint the API refuses for good (409: its ticket belongs to another call; 422) is
not dropped: it becomes a ``refused`` record, posted to ``/complaints/refused``, where
the API keeps it for a supervisor to see and re-file under a fresh ticket
(api/complaints/refused.py). Only a record the API won't take even there is moved to
``<spool>/rejected/``, loudly, as the last resort.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.durable import fsync_dir
from ivr.lapor_api import ApiRejected, ApiUnavailable, LaporApi

logger = logging.getLogger(__name__)

# Where each kind of record is POSTed.
ENDPOINTS = {
    "complaint": "/complaints",
    "callback": "/callbacks",
    "survey": "/surveys",
    "refused": "/complaints/refused",
}
# Background delivery: first retry after 1 s, doubling up to 30 s while the API is down.
RETRY_FIRST = 1.0
RETRY_MAX = 30.0


@dataclass(frozen=True)
class OutboxRecord:
    path: Path
    kind: str
    key: str
    payload: dict[str, Any]


class Outbox:
    def __init__(self, spool_dir: Path) -> None:
        self.dir = spool_dir / "outbox"
        self.rejected_dir = spool_dir / "rejected"

    def put(self, kind: str, key: str, payload: dict[str, Any]) -> OutboxRecord:
        """Store a record durably (blocking: one fsync'd file write)."""
        if kind not in ENDPOINTS:
            raise ValueError(f"unknown outbox record kind: {kind}")
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{kind}-{key}.json"
        temporary = self.dir / f".{path.name}.{uuid.uuid4().hex}.tmp"
        data = json.dumps({"kind": kind, "key": key, "payload": payload}).encode()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        fsync_dir(self.dir)
        return OutboxRecord(path, kind, key, payload)

    def pending(self) -> list[OutboxRecord]:
        """Records not yet delivered, oldest first; unreadable files are set aside."""
        if not self.dir.is_dir():
            return []
        records = []
        files = sorted(self.dir.glob("*.json"), key=_mtime)
        for path in files:
            try:
                raw = json.loads(path.read_bytes())
                records.append(OutboxRecord(path, raw["kind"], raw["key"], raw["payload"]))
            except FileNotFoundError:
                continue  # delivered meanwhile by another process
            except (ValueError, KeyError, TypeError):
                logger.error("outbox: unreadable record %s, setting it aside", path.name)
                self._set_aside(path)
        return records

    def backlog(self) -> tuple[int, float | None]:
        """How many records wait, and the oldest one's mtime (None when there is none)."""
        if not self.dir.is_dir():
            return 0, None
        times = [t for t in map(_mtime, self.dir.glob("*.json")) if t]
        return len(times), min(times, default=None)

    def done(self, record: OutboxRecord) -> None:
        with contextlib.suppress(FileNotFoundError):
            record.path.unlink()
            fsync_dir(self.dir)

    def reject(self, record: OutboxRecord) -> None:
        self._set_aside(record.path)

    def _set_aside(self, path: Path) -> None:
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, self.rejected_dir / path.name)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


class Deliverer:
    """Sends outbox records to the API: one now (from a call) or all, in a retry loop."""

    def __init__(self, outbox: Outbox, api: LaporApi) -> None:
        self.outbox = outbox
        self.api = api
        self.delivered = 0
        self._unavailable = False  # the last delivery found the API unreachable

    async def deliver(self, record: OutboxRecord) -> bool:
        """Try once; True when the API has the record (it is then removed from disk)."""
        self._unavailable = False
        try:
            await self.api.post(ENDPOINTS[record.kind], record.payload)
        except ApiUnavailable as exc:
            self._unavailable = True
            logger.warning("outbox: %s %s kept for later: %s", record.kind, record.key, exc)
            return False
        except ApiRejected as exc:
            if record.kind == "complaint":
                return await self._hand_over(record, exc)
            logger.error("outbox: %s %s rejected, set aside: %s", record.kind, record.key, exc)
            await asyncio.to_thread(self.outbox.reject, record)
            return False
        await asyncio.to_thread(self.outbox.done, record)
        self.delivered += 1
        logger.info("outbox: %s %s delivered", record.kind, record.key)
        return True

    async def _hand_over(self, record: OutboxRecord, refusal: ApiRejected) -> bool:
        """The refused complaint goes to the API's refused list, kept until it is there."""
        logger.error(
            "outbox: complaint %s refused by the API (%s); handing it to the refused list",
            record.key,
            refusal,
        )
        payload = {
            "complaint": record.payload,
            "status_code": refusal.status,
            "reason": str(refusal),
        }
        call = re.sub(r"[^A-Za-z0-9.-]+", "-", str(record.payload.get("uniqueid", ""))) or "call"
        held = await asyncio.to_thread(self.outbox.put, "refused", f"{record.key}-{call}", payload)
        await asyncio.to_thread(self.outbox.done, record)  # after the held copy is on disk
        return await self.deliver(held)

    async def flush(self) -> int:
        """Try every pending record once, oldest first; returns how many are still pending.

        Stops at the first ``ApiUnavailable`` (the rest would fail the same way).
        """
        records = await asyncio.to_thread(self.outbox.pending)
        for index, record in enumerate(records):
            if not await self.deliver(record) and self._unavailable:
                return len(records) - index
        return 0

    async def run(self, stop: asyncio.Event, interval: float = RETRY_FIRST) -> None:
        """Flush until ``stop`` is set, backing off while the API is unreachable."""
        delay = interval
        while not stop.is_set():
            try:
                left = await self.flush()
            except Exception:
                logger.exception("outbox: delivery pass failed")
                left = 1
            delay = min(delay * 2, RETRY_MAX) if left else interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


def now_iso() -> str:
    """The current time as an aware ISO 8601 string (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
