"""A small AMI client for the sandbox and tests: login, actions, and a searchable event log.

The product's collector uses panoramisk (collector/); this client exists so test tooling can
watch events without any of panoramisk's pitfalls (docs/asterisk.md) muddying a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from types import TracebackType

Message = dict[str, str]
_SEPARATOR = b"\r\n\r\n"


class AMIError(Exception):
    """Login failed, an action was refused, or the connection dropped."""


def parse_message(raw: bytes) -> Message:
    """Decode one complete AMI message; decoding whole messages keeps split UTF-8 intact."""
    message: Message = {}
    for line in raw.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message.setdefault(key.strip(), value.strip())
    return message


class AMIClient:
    """One AMI session. Every event received is kept, so a test can wait for past events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self.events: list[Message] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.closed_error: BaseException | None = None

    @classmethod
    async def connect(
        cls, host: str, port: int, username: str, secret: str, timeout: float = 5.0
    ) -> AMIClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer)
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout)
            if not banner.startswith(b"Asterisk Call Manager"):
                raise AMIError(f"not an AMI server: {banner!r}")
            client._task = asyncio.create_task(client._read_loop())
            reply = await client.action("Login", timeout=timeout, Username=username, Secret=secret)
        except BaseException:
            await client.close()
            raise
        if reply.get("Response") != "Success":
            await client.close()
            raise AMIError(f"AMI login refused: {reply.get('Message', reply)}")
        return client

    async def __aenter__(self) -> AMIClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def action(self, name: str, timeout: float = 10.0, **fields: str) -> Message:
        """Send an action and return its response message."""
        action_id = f"sandbox-{next(self._ids)}"
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = future
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(action_id, None)

    async def wait_for(self, match: Callable[[Message], bool], timeout: float) -> Message:
        """Return the first event so far (or to come) that ``match`` accepts."""
        found: list[Message] = []
        scanned = 0

        def find() -> bool:
            # Each wake-up looks only at the events that came since the last one: with 20
            # waiters and tens of thousands of events, rescanning from the start every
            # time fell minutes behind (test_ivr_concurrent timed out that way).
            nonlocal scanned
            events = self.events
            while not found and scanned < len(events):
                if match(events[scanned]):
                    found.append(events[scanned])
                scanned += 1
            return bool(found)

        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: find() or self._task_done()), timeout
            )
        event = found[0] if found else None
        if event is None:
            raise AMIError(f"AMI connection closed: {self.closed_error!r}")
        return event

    def _task_done(self) -> bool:
        return self._task is not None and self._task.done()

    async def _read_loop(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    raise AMIError("connection closed by Asterisk")
                *frames, buffer = (buffer + chunk).split(_SEPARATOR)
                for raw in frames:
                    await self._dispatch(parse_message(raw))
        except (AMIError, OSError) as exc:
            self.closed_error = exc
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(AMIError(str(exc)))
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _dispatch(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        # An OriginateResponse event has a Response field and the Originate's ActionID too,
        # and a fast call's may come before the action's own response: it is an event.
        if "Response" in message and "Event" not in message and action_id in self._pending:
            future = self._pending[action_id]
            if not future.done():
                future.set_result(message)
            return
        if "Event" in message:
            async with self._changed:
                self.events.append(message)
                self._changed.notify_all()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
