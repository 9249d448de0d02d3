"""This IVR's claim on its node id, and the ticket counter's floor, kept with the API.

Tickets are ``<node id><sequence>`` from a counter on the node's spool, so two IVRs with
the same node id and their own spools would issue the same tickets, and so would one
whose spool was lost. Against both, the IVR holds a lease on its node id in the API
(api/ivr_nodes/service.py):

- The lease belongs to the **spool**, by a random identity kept in it
  (``node-identity``). Every process on one spool (the FastAGI server, classic AGI
  scripts, a restarted server) shares one counter under a file lock, so they are one
  node; a second spool is a second node and is refused while the lease is live.
- ``lapor-ivr`` claims at start-up and renews every third of the TTL. Refused at
  start-up, it retries for one TTL (the holder may be a crashed process whose lease has
  yet to lapse) and then refuses to start, saying who holds the id. Refused later (it
  started while the API was away, or its lease lapsed during a long partition and
  another spool took the id), it stops: better no FastAGI server, so Asterisk's
  dialplan falls back, than two nodes issuing the same tickets.
- Every answer carries the API's highest ticket of this node, and the counter is raised
  to it (``TicketIssuer.raise_to``): at start-up and at every renewal, so after an API
  outage too. A lost spool therefore never restarts the sequence below what the API
  holds.

While the API is unreachable the IVR keeps serving (it must: citizens are calling) on
its own counter. If the spool was lost *and* the API is unreachable at start-up, a
ticket may repeat before the first claim succeeds; the API then refuses that complaint,
and the outbox hands it to the API's refused-complaint list instead of dropping it
(ivr/outbox.py), and its recording is named by ticket *and* call, so no file is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from ivr.lapor_api import ApiRejected, ApiUnavailable, LaporApi
from ivr.tickets import TicketIssuer

logger = logging.getLogger(__name__)

IDENTITY_FILE = "node-identity"


class NodeIdInUse(RuntimeError):
    """Another IVR, with another spool, holds this node id."""


def spool_identity(spool_dir: Path) -> str:
    """The spool's random identity, created (durably) on first use."""
    path = spool_dir / IDENTITY_FILE
    with contextlib.suppress(FileNotFoundError):
        text = path.read_text().strip()
        if text:
            return text
    spool_dir.mkdir(parents=True, exist_ok=True)
    identity = f"spool-{uuid.uuid4().hex}"
    temporary = spool_dir / f".{IDENTITY_FILE}.{uuid.uuid4().hex}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        os.write(fd, f"{identity}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)  # never replaces an identity another process just wrote
    except FileExistsError:
        return path.read_text().strip()
    finally:
        temporary.unlink()
    return identity


class NodeLease:
    def __init__(
        self,
        api: LaporApi,
        tickets: TicketIssuer,
        spool_dir: Path,
        ttl: float = 30.0,
    ) -> None:
        self.api = api
        self.tickets = tickets
        self.node_id = tickets.node_id
        self.ttl = ttl
        self.holder = spool_identity(spool_dir)
        self.held = False
        self.floor: str | None = None

    @property
    def _path(self) -> str:
        return f"/ivr/nodes/{self.node_id}/lease"

    async def claim(self) -> None:
        """Claim or renew once and raise the counter to the API's highest ticket.

        Raises NodeIdInUse if another spool holds the id, ApiUnavailable if the API can't
        answer now.
        """
        body = {
            "holder": self.holder,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "ttl_seconds": max(5, round(self.ttl)),
        }
        try:
            answer = await self.api.put(self._path, body)
        except ApiRejected as exc:
            self.held = False
            if exc.status == 409:
                raise NodeIdInUse(str(exc)) from None
            raise ApiUnavailable(f"lease of node {self.node_id}: {exc}") from exc
        self.held = True
        await self._raise_floor(answer)

    async def _raise_floor(self, answer: dict[str, Any]) -> None:
        floor = answer.get("highest_ticket")
        if floor is not None and not isinstance(floor, str):
            return
        counter = await asyncio.to_thread(self.tickets.raise_to, floor)
        if floor != self.floor:
            logger.info(
                "node %d: the API's highest ticket is %s; the counter is at %d",
                self.node_id,
                floor,
                counter,
            )
        self.floor = floor

    async def claim_at_start(self, wait: float | None = None) -> None:
        """Claim before serving. A refusal is retried for one TTL (a crashed holder's lease
        lapses by then) and then raised; an unreachable API is waited for ``wait`` s (a
        TTL by default), after which the server starts unclaimed and ``run`` keeps trying.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ttl
        api_deadline = loop.time() + (self.ttl if wait is None else wait)
        refused: NodeIdInUse | None = None
        while True:
            try:
                await self.claim()
                return
            except NodeIdInUse as exc:
                if refused is None:
                    logger.warning(
                        "node %d: held by another spool; waiting up to %.0f s for its lease"
                        " to lapse: %s",
                        self.node_id,
                        max(0.0, deadline + 1 - loop.time()),
                        exc,
                    )
                refused = exc
            except ApiUnavailable as exc:
                refused = None
                if loop.time() >= api_deadline:
                    logger.warning(
                        "node %d: the API can't take the node's lease now (%s); serving on"
                        " the spool's own ticket counter until it can",
                        self.node_id,
                        exc,
                    )
                    return
            if refused is not None and loop.time() >= deadline + 1:
                raise refused
            await asyncio.sleep(1.0)

    async def run(self, stop: asyncio.Event) -> NodeIdInUse | None:
        """Renew until ``stop``; returns the refusal if another spool takes the id."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.ttl / 3)
            if stop.is_set():
                break
            try:
                await self.claim()
            except NodeIdInUse as exc:
                return exc
            except ApiUnavailable as exc:
                logger.warning("node %d: lease not renewed: %s", self.node_id, exc)
            except Exception:
                logger.exception("node %d: lease renewal failed", self.node_id)
        return None

    async def release(self) -> None:
        """Give the id back (a clean shutdown), so a new spool may take it at once."""
        if not self.held:
            return
        try:
            await self.api.delete(self._path, holder=self.holder)
            self.held = False
        except (ApiUnavailable, ApiRejected) as exc:
            logger.warning("node %d: lease not released (it lapses): %s", self.node_id, exc)

    async def seed(self) -> None:
        """Raise the counter to the API's highest ticket without claiming (``flush``)."""
        answer = await self.api.get(f"/ivr/nodes/{self.node_id}/tickets")
        await self._raise_floor(answer)
