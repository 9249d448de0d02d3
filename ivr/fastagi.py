"""FastAGI server: one asyncio task per connection, routed by script name."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ivr.channel import Channel, Handler
from ivr.errors import AGIHangup, AGIProtocolError
from ivr.logs import call_context
from ivr.protocol import HANGUP_LINE, AGIReply, AGIRequest, ReplyCollector, parse_headers
from ivr.session import CallOutcome, reject_unknown_script, run_call

logger = logging.getLogger(__name__)

# Longest accepted header or reply line, in bytes.
LINE_LIMIT = 16 * 1024
# Reply lines buffered before the line reader stops reading (backpressure).
_QUEUED_LINES = 64
# Seconds a running handler gets to finish when the server closes.
CLOSE_GRACE = 5.0


@dataclass
class ServerStats:
    handled: int = 0
    failed: int = 0
    rejected: int = 0


class StreamChannel(Channel):
    """A channel whose commands travel over a FastAGI TCP connection.

    A background task reads every incoming line, so a ``HANGUP`` that Asterisk writes
    after a reply marks the channel hung up before the handler sends its next command.
    """

    def __init__(
        self, request: AGIRequest, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(request)
        self._reader = reader
        self._writer = writer
        self._lines: asyncio.Queue[str | AGIProtocolError | None] = asyncio.Queue(_QUEUED_LINES)
        self._line_reader = asyncio.create_task(self._read_lines())
        # One command in flight at a time, or replies would be matched to the wrong command.
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        self._line_reader.cancel()
        await asyncio.wait([self._line_reader])

    async def send(self, command_line: str) -> AGIReply:
        async with self._lock:
            try:
                self._writer.write(command_line.encode() + b"\n")
                await self._writer.drain()
            except ConnectionError as exc:
                self.hung_up = True
                raise AGIHangup("connection lost while sending a command") from exc
            return await self._read_reply()

    async def _read_lines(self) -> None:
        try:
            while (line := await read_line(self._reader)) is not None:
                if line.rstrip("\r\n") == HANGUP_LINE:
                    self.hung_up = True
                else:
                    await self._lines.put(line)
            self.hung_up = True
            await self._lines.put(None)
        except AGIProtocolError as exc:
            await self._lines.put(exc)

    async def _read_reply(self) -> AGIReply:
        collector = ReplyCollector()
        while True:
            line = await self._lines.get()
            if line is None or isinstance(line, AGIProtocolError):
                self._lines.put_nowait(line)  # the reader has stopped: keep reporting why
                if line is None:
                    raise AGIHangup("connection closed while waiting for a reply")
                raise line
            reply = collector.feed(line)
            if reply is not None:
                return reply


async def read_line(reader: asyncio.StreamReader) -> str | None:
    """One full line, decoded only once complete (a split UTF-8 character survives).

    Returns None at end of stream, including a last line without its newline.
    """
    try:
        data = await reader.readline()
    except ValueError as exc:  # StreamReader's way of saying "longer than the limit"
        raise AGIProtocolError(f"line longer than {LINE_LIMIT} bytes") from exc
    except OSError:  # connection reset and the like
        return None
    if not data.endswith(b"\n"):
        return None
    return data.decode("utf-8", errors="replace")


def _is_coroutine_function(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    # An instance whose class defines ``async def __call__``.
    return callable(handler) and inspect.iscoroutinefunction(type(handler).__call__)


class FastAGIServer:
    def __init__(
        self,
        routes: Mapping[str, Handler],
        host: str = "127.0.0.1",
        port: int = 4573,
        header_timeout: float = 5.0,
        on_call_end: Callable[[CallOutcome], None] | None = None,
    ) -> None:
        for script, handler in routes.items():
            if not _is_coroutine_function(handler):
                raise TypeError(f"handler for {script!r} must be an async function")
        self._routes = dict(routes)
        self._host = host
        self._port = port
        self._header_timeout = header_timeout
        self._on_call_end = on_call_end
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()
        self._running_handlers: set[asyncio.Task[object]] = set()
        self._closed = asyncio.Event()
        self._closing = False
        self.stats = ServerStats()

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self._host, self._port, limit=LINE_LIMIT
        )
        logger.info("FastAGI listening on %s:%d", self._host, self.bound_port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        await self._closed.wait()

    async def close(self, grace: float = CLOSE_GRACE) -> None:
        """Stop listening, let running handlers finish for ``grace`` seconds, cancel the rest."""
        self._closing = True
        if self._server is not None:
            self._server.close()
            for task in self._connections - self._running_handlers:
                task.cancel()
            if self._running_handlers:
                await asyncio.wait(self._running_handlers, timeout=grace)
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            logger.info("FastAGI server closed")
        self._closed.set()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            self._record(await self._serve(reader, writer, task))
        except asyncio.CancelledError:
            if not self._closing:
                raise
            # Cut off by close() after its grace: end quietly rather than leave asyncio's
            # stream callback a cancelled task to log as an error.
            logger.info("call cut off at server shutdown")
        finally:
            self._connections.discard(task)
            self._running_handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        task: asyncio.Task[object],
    ) -> CallOutcome:
        peer = writer.get_extra_info("peername")
        try:
            request = await self._read_request(reader)
        except (AGIProtocolError, TimeoutError) as exc:
            error = str(exc) or "header timeout"
            logger.warning("bad request from %s: %s", peer, error)
            return CallOutcome("", "", "bad_request", error)
        if request is None:
            logger.info("connection from %s closed before any header", peer)
            return CallOutcome("", "", "bad_request", "no headers")
        with call_context(request.uniqueid):
            logger.info("call start script=%s channel=%s", request.script, request.channel)
            channel = StreamChannel(request, reader, writer)
            handler = self._routes.get(request.script)
            try:
                if handler is None:
                    outcome = await reject_unknown_script(channel)
                else:
                    self._running_handlers.add(task)
                    outcome = await run_call(channel, handler)
            finally:
                await channel.aclose()
            logger.info("call end status=%s", outcome.status)
            return outcome

    async def _read_request(self, reader: asyncio.StreamReader) -> AGIRequest | None:
        lines: list[str] = []
        async with asyncio.timeout(self._header_timeout):
            while True:
                line = await read_line(reader)
                if line is None:
                    if lines:
                        raise AGIProtocolError("connection closed in the middle of the headers")
                    return None
                if not line.rstrip("\r\n"):
                    return parse_headers(lines)
                lines.append(line)

    def _record(self, outcome: CallOutcome) -> None:
        if outcome.status in ("ok", "hangup"):
            self.stats.handled += 1
        elif outcome.status == "failed":
            self.stats.failed += 1
        else:
            self.stats.rejected += 1
        if self._on_call_end is not None:
            try:
                self._on_call_end(outcome)
            except Exception:
                logger.exception("on_call_end callback failed")
