"""A fake Asterisk AMI peer on a real socket, for wire edge cases a real Asterisk won't make."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


def frame(**headers: str) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode() + b"\r\n"


def event(name: str, **headers: str) -> bytes:
    return frame(Event=name, Privilege="call,all", Timestamp=f"{time.time():.6f}", **headers)


class FakeAmi:
    """Answers Login (by secret) and Ping (unless ``answer_pings`` is off); pushes raw bytes."""

    def __init__(self, secret: str = "s3cret") -> None:
        self.secret = secret
        self.answer_pings = True
        self.logins = 0
        self.pings = 0
        # QueueStatus: unanswered while None (as before); else these answers' headers, or
        # an Error reply for "error".
        self.queue_status: list[dict[str, str]] | str | None = None
        self.queue_status_asked = 0
        self.clients: list[asyncio.StreamWriter] = []
        # One frame at a time per client: a Pong must not land inside a chunked event.
        self._locks: dict[asyncio.StreamWriter, asyncio.Lock] = {}
        self._server: asyncio.Server | None = None
        self._all: list[asyncio.StreamWriter] = []
        self.port = 0
        # Every action received, as (header, value) pairs, and every byte.
        self.actions: list[list[tuple[str, str]]] = []
        self.received = bytearray()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self.drop_all()
        for writer in self._all:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read actions as Asterisk's manager.c does: lines end at LF (a CR before it is
        dropped) and an empty line ends an action. Every action is recorded."""
        self._all.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        pairs: list[tuple[str, str]] = []
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                raw = await reader.readuntil(b"\n")
                self.received += raw
                line = raw.decode(errors="replace").rstrip("\n").rstrip("\r")
                if line:
                    key, _, value = line.partition(":")
                    pairs.append((key.strip(), value.strip()))
                    continue
                if not pairs:
                    continue
                self.actions.append(pairs)
                headers = dict(pairs)
                pairs = []
                async with self._locks.setdefault(writer, asyncio.Lock()):
                    self._answer(headers, writer)
                    await writer.drain()

    def actions_named(self, name: str) -> list[list[tuple[str, str]]]:
        """The recorded actions called ``name`` (case-insensitive), headers in order."""
        return [a for a in self.actions if dict(a).get("Action", "").lower() == name.lower()]

    def _answer(self, action: dict[str, str], writer: asyncio.StreamWriter) -> None:
        action_id = action.get("ActionID", "")
        name = action.get("Action", "").lower()
        if name not in ("login", "ping", "queuestatus"):
            writer.write(frame(Response="Success", ActionID=action_id, Message="ok"))
        elif name == "login":
            if action.get("Secret") == self.secret:
                self.logins += 1
                self.clients.append(writer)
                writer.write(frame(Response="Success", ActionID=action_id, Message="ok"))
            else:
                writer.write(frame(Response="Error", ActionID=action_id, Message="denied"))
        elif name == "ping":
            self.pings += 1
            if self.answer_pings:
                writer.write(frame(Response="Success", ActionID=action_id, Ping="Pong"))
        elif name == "queuestatus":
            self.queue_status_asked += 1
            if self.queue_status == "error":
                writer.write(frame(Response="Error", ActionID=action_id, Message="denied"))
            elif isinstance(self.queue_status, list):
                writer.write(
                    frame(
                        Response="Success",
                        ActionID=action_id,
                        EventList="start",
                        Message="Queue status will follow",
                    )
                )
                for answer in self.queue_status:
                    writer.write(frame(**answer, ActionID=action_id))
                writer.write(
                    frame(
                        Event="QueueStatusComplete",
                        ActionID=action_id,
                        EventList="Complete",
                        ListItems=str(len(self.queue_status)),
                    )
                )

    async def send(self, data: bytes, chunk: int | None = None) -> None:
        """Write raw bytes to every logged-in client, optionally in chunks of ``chunk``."""
        for writer in list(self.clients):
            if writer.is_closing():
                continue
            pieces = (
                [data]
                if chunk is None
                else [data[i : i + chunk] for i in range(0, len(data), chunk)]
            )
            async with self._locks.setdefault(writer, asyncio.Lock()):
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # separate TCP reads on the other side

    async def drop_all(self) -> None:
        for writer in self.clients:
            writer.close()
        self.clients = []

    async def wait_logins(self, count: int, timeout: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.logins < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{self.logins} login(s), expected {count}")
            await asyncio.sleep(0.02)


async def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        await asyncio.sleep(0.05)
