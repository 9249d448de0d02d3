"""One AMI session per node on panoramisk's Manager, kept alive by our own loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ami_wire import NEVER, Manager, SafeAMIProtocol
from collector._backoff import Backoff
from collector._events import (
    SUBSCRIBED,
    EventIds,
    ReceivedEvent,
    from_fields,
    from_message,
    headers_of,
    snapshot_event,
)
from collector._settings import CollectorSettings

log = logging.getLogger(__name__)


class LoginRefused(Exception):
    pass


class NodeSession:
    """Connect, log in, subscribe by name, heartbeat; reconnect with backoff on any failure.

    Right after every login the session asks Asterisk for ``QueueStatus`` and hands the
    answer to the sink as one ``LaporQueueSnapshot`` event: officers who joined the queue,
    paused or took a call while no collector listened are invisible to events alone
    (AMI keeps nothing for absent listeners), and the API rebuilds its live view of this
    node from the snapshot plus every event after it.
    """

    def __init__(self, settings: CollectorSettings, sink: Callable[[ReceivedEvent], None]) -> None:
        self.settings = settings
        self.sink = sink
        self.connections = 0  # successful logins so far (tests and logs)
        self.snapshots = 0  # QueueStatus snapshots taken so far
        self.new_id = EventIds(settings.node)
        # Whether the AMI session is up, since when (monotonic), and set at each change.
        self.connected = False
        self.state_changed_at = time.monotonic()
        self.state_changed = asyncio.Event()
        # When the last session ended (epoch), and what to call at each login with it
        # (None before the first session): the collector's queue_log reconcile.
        self.lost_at: float | None = None
        self.on_login: Callable[[float | None], None] | None = None
        self._lost = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        backoff = Backoff(self.settings.backoff_min, self.settings.backoff_max)
        while not self._stopping.is_set():
            try:
                await self._one_session(backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("AMI %s: %s", self.settings.node, exc or type(exc).__name__)
            if self._stopping.is_set():
                break
            delay = backoff.next()
            log.info("AMI %s: reconnecting in %.1f s", self.settings.node, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    def stop(self) -> None:
        self._stopping.set()
        self._lost.set()

    async def _one_session(self, backoff: Backoff) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        manager = Manager(
            lambda exc: self._lost.set(),
            loop=loop,
            host=s.ami_host,
            port=s.ami_port,
            username=s.ami_user,
            secret=s.secret(),
            encoding="utf8",
            ping_delay=NEVER,
            protocol_factory=SafeAMIProtocol,
        )
        # Events normally take the protocol's fast path; these handlers get the rest.
        for name in SUBSCRIBED:
            manager.register_event(name, self._on_message)
        transport, protocol = await asyncio.wait_for(
            loop.create_connection(SafeAMIProtocol, s.ami_host, s.ami_port), s.connect_timeout
        )
        protocol.set_event_sink(frozenset(SUBSCRIBED), self._on_fields)
        connected: asyncio.Future[Any] = loop.create_future()
        connected.set_result((transport, protocol))
        manager.connection_made(connected)
        try:
            reply = await asyncio.wait_for(manager.authenticated_future, s.connect_timeout)
            if not reply.success:
                raise LoginRefused(f"login refused: {reply.get('Message')}")
            self.connections += 1
            self._set_connected(True)
            backoff.reset()
            log.info("AMI %s: logged in to %s:%s", s.node, s.ami_host, s.ami_port)
            if self.on_login is not None:
                self.on_login(self.lost_at)
            snapshot = asyncio.create_task(self._snapshot(manager))
            try:
                await self._heartbeat(manager)
            finally:
                snapshot.cancel()
        finally:
            self._set_connected(False)
            manager.close()

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            if not connected:
                self.lost_at = time.time()
            self.connected = connected
            self.state_changed_at = time.monotonic()
            self.state_changed.set()

    async def _snapshot(self, manager: Any) -> None:
        """Ask QueueStatus once and sink the answer; a failure is logged, never fatal.

        panoramisk collects the answer's events itself (they carry the action's ActionID,
        so no event handler sees them) until QueueStatusComplete.
        """
        s = self.settings
        taken_at = datetime.now(UTC)
        try:
            answer = await asyncio.wait_for(
                manager.send_action({"Action": "QueueStatus"}), s.snapshot_timeout
            )
        except TimeoutError:
            log.warning("AMI %s: no QueueStatus answer in %s s", s.node, s.snapshot_timeout)
            return
        except Exception as exc:
            log.warning("AMI %s: QueueStatus failed: %r", s.node, exc)
            return
        messages = answer if isinstance(answer, list) else [answer]
        first = messages[0] if messages else {}
        if str(first.get("Response", "")).lower() != "success":
            log.warning("AMI %s: QueueStatus refused: %.200r", s.node, dict(first))
            return
        answers = [headers_of(m) for m in messages]
        try:
            self.sink(snapshot_event(s.node, self.new_id, taken_at, answers))
        except Exception:
            log.exception("AMI %s: QueueStatus snapshot dropped", s.node)
            return
        self.snapshots += 1
        members = sum(1 for a in answers if a.get("Event") == "QueueMember")
        entries = sum(1 for a in answers if a.get("Event") == "QueueEntry")
        log.info("AMI %s: queue snapshot: %d member(s), %d waiting", s.node, members, entries)

    async def _heartbeat(self, manager: Any) -> None:
        s = self.settings
        while not self._lost.is_set():
            try:
                await asyncio.wait_for(self._lost.wait(), s.ping_interval)
                break
            except TimeoutError:
                pass
            try:
                await asyncio.wait_for(manager.send_action({"Action": "Ping"}), s.ping_timeout)
            except TimeoutError:
                raise ConnectionError(f"no Pong in {s.ping_timeout} s: half-open link") from None
        raise ConnectionError("connection lost")

    # Both catch everything: a handler must never take the session down.
    def _on_fields(self, fields: dict[str, str]) -> None:
        try:
            event = from_fields(self.settings.node, self.new_id, fields)
            if event is not None:
                self.sink(event)
        except Exception:
            log.exception("AMI event dropped: %.200r", fields)

    def _on_message(self, manager: Any, message: Any) -> None:
        try:
            event = from_message(self.settings.node, message, self.new_id)
            if event is not None:
                self.sink(event)
        except Exception:
            log.exception("AMI event dropped: %.200r", message)
