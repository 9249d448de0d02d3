"""FastAGI server: one asyncio task per connection, routed by script name.

Whatever reaches the port may be a healthy Asterisk or not, so every session is bounded
(``FastAGILimits``): the longest line, the size and the time of the header block, the
time to wait for each reply, and the number of sessions at once. A peer that breaks a
limit is closed, with a log line, and nothing it sent beyond the limit is kept. Who may
open a session at all is ``ivr.access.PeerAccess``: an address allow-list and an
optional shared secret in the AGI URL.

A refused session is safe for the caller: the dialplan queues the call after ``AGI()``
whatever ``AGISTATUS`` says (asterisk_conf/extensions.conf, ``[ivr]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ivr.access import PeerAccess, redact_secret
from ivr.channel import Channel, Handler
from ivr.errors import AGIHangup, AGIProtocolError, AGITimeout
from ivr.logs import call_context
from ivr.protocol import (
    HANGUP_LINE,
    AGIReply,
    AGIRequest,
    ReplyCollector,
    command_duration,
    parse_header_env,
    request_from_env,
    split_command,
)
from ivr.session import CallOutcome, CallStatus, reject_unknown_script, run_call

logger = logging.getLogger(__name__)

# Longest accepted line (header or reply), in bytes, without its newline. Asterisk's own
# agi_* values are short (a channel name, a caller name of at most 80 characters).
LINE_LIMIT = 8 * 1024
# Header lines in one request: Asterisk 22 sends 21, plus one per AGI() argument.
MAX_HEADER_LINES = 256
# Bytes in one header block, blank line included (a real one is about 1 KiB).
MAX_HEADER_BYTES = 32 * 1024
# Seconds from the connection to the end of the header block. Asterisk writes the whole
# block as soon as it has connected.
HEADER_TIMEOUT = 5.0
# Seconds a command may take beyond its own duration; see ``FastAGILimits``.
REPLY_TIMEOUT = 60.0
# Sessions at once, each connection counted from its accept: room for the ~300 calls one
# Asterisk node holds, each in at most one AGI at a time.
MAX_SESSIONS = 300
# Reply lines buffered before the line reader stops reading (backpressure).
_QUEUED_LINES = 16
# Seconds a running handler gets to finish when the server closes.
CLOSE_GRACE = 5.0
# Seconds between two log lines about one kind of refused connection; the lines in
# between are counted and reported on the next one, so a flood cannot flood the log.
REFUSAL_LOG_INTERVAL = 1.0


@dataclass(frozen=True)
class FastAGILimits:
    """What one peer may cost the server.

    ``reply_timeout`` is a margin, not the whole wait: a command gets ``reply_timeout``
    seconds plus its own duration as its arguments declare it (``command_duration``):
    RECORD FILE its maximum length, GET DATA its timeout per key times its number of
    keys, WAIT FOR DIGIT its timeout, and EXEC of an application that may run for long
    (Dial, Queue) an hour. The margin covers what no argument tells: the prompt that
    STREAM FILE, GET DATA or Playback plays (ours last up to about 15 s: the ticket read
    back twice), the beep before a recording, a busy Asterisk. So the default of 60 s
    never cuts a real call short (a complaint's 180 s recording gets 240 s, the menu's
    one-key GET DATA with 5 s gets 65 s), while a peer that stops answering loses its
    session a minute after any quick command.
    """

    max_line_bytes: int = LINE_LIMIT
    max_header_lines: int = MAX_HEADER_LINES
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout: float = HEADER_TIMEOUT
    reply_timeout: float = REPLY_TIMEOUT
    max_sessions: int = MAX_SESSIONS

    def __post_init__(self) -> None:
        for name in ("max_line_bytes", "max_header_lines", "max_header_bytes", "max_sessions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("header_timeout", "reply_timeout"):
            if not 0 < getattr(self, name) < math.inf:
                raise ValueError(f"{name} must be a positive number of seconds")

    def reply_window(self, command_line: str) -> float:
        """Seconds to wait for the reply to ``command_line``."""
        return self.reply_timeout + command_duration(command_line)


@dataclass
class ServerStats:
    handled: int = 0
    failed: int = 0  # handler errors, and peers that stopped replying
    rejected: int = 0  # bad requests and unknown scripts
    refused: int = 0  # over the session cap
    denied: int = 0  # peer address or AGI secret refused


@dataclass
class _ThrottledLog:
    """Log lines of one kind, at most one per ``interval``; the others are counted."""

    interval: float
    level: int = logging.WARNING
    _last: float | None = field(default=None, init=False)
    _suppressed: int = field(default=0, init=False)

    def log(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self._suppressed += 1
            return
        if self._suppressed:
            message += " (and %d more since the last such line)"
            args = (*args, self._suppressed)
        logger.log(self.level, message, *args)
        self._last, self._suppressed = now, 0


class StreamChannel(Channel):
    """A channel whose commands travel over a FastAGI TCP connection.

    A background task reads every incoming line, so a ``HANGUP`` that Asterisk writes
    after a reply marks the channel hung up before the handler sends its next command.
    Each command waits for its reply ``limits.reply_window(command)`` seconds; once one
    went unanswered, every later command fails at once with ``AGITimeout``.
    """

    def __init__(
        self,
        request: AGIRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: FastAGILimits | None = None,
    ) -> None:
        super().__init__(request)
        self._reader = reader
        self._writer = writer
        self._limits = limits or FastAGILimits()
        self._lines: asyncio.Queue[str | AGIProtocolError | None] = asyncio.Queue(_QUEUED_LINES)
        self._line_reader = asyncio.create_task(self._read_lines())
        # One command in flight at a time, or replies would be matched to the wrong command.
        self._lock = asyncio.Lock()
        self._stalled: str | None = None

    async def aclose(self) -> None:
        self._line_reader.cancel()
        await asyncio.wait([self._line_reader])

    async def send(self, command_line: str) -> AGIReply:
        async with self._lock:
            if self._stalled is not None:
                raise AGITimeout(self._stalled)
            window = self._limits.reply_window(command_line)
            try:
                async with asyncio.timeout(window):
                    try:
                        self._writer.write(command_line.encode() + b"\n")
                        await self._writer.drain()
                    except ConnectionError as exc:
                        self.hung_up = True
                        raise AGIHangup("connection lost while sending a command") from exc
                    return await self._read_reply()
            except TimeoutError:
                self._stalled = f"no reply to {_command_name(command_line)} within {window:g} s"
                raise AGITimeout(self._stalled) from None

    async def _read_lines(self) -> None:
        try:
            while (line := await read_line(self._reader, self._limits.max_line_bytes)) is not None:
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


def _command_name(command_line: str) -> str:
    """The command's leading words, for messages (its arguments may be a caller's data)."""
    words = split_command(command_line)[:3]
    name = [word for word in words if word.isalpha() and word.isupper()]
    return " ".join(name) or "a command"


async def read_raw_line(reader: asyncio.StreamReader, limit: int = LINE_LIMIT) -> bytes | None:
    """One full line, newline included; None at end of stream (a last partial line too).

    A line longer than the reader's limit (``limit``, for the message) raises
    ``AGIProtocolError``. The reader never buffers much more than its limit, and what it
    holds goes with the connection.
    """
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as exc:
        raise AGIProtocolError(f"line longer than {limit} bytes") from exc
    except OSError:  # connection reset and the like
        return None


async def read_line(reader: asyncio.StreamReader, limit: int = LINE_LIMIT) -> str | None:
    """``read_raw_line``, decoded once complete (a split UTF-8 character survives)."""
    data = await read_raw_line(reader, limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def _is_coroutine_function(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    # An instance whose class defines ``async def __call__``.
    return callable(handler) and inspect.iscoroutinefunction(type(handler).__call__)


def _peer_host(peername: object) -> str:
    if isinstance(peername, tuple) and peername:
        return str(peername[0])
    return "unknown"


class FastAGIServer:
    """Serves ``routes`` on ``host:port`` within ``limits``, to the peers ``access`` lets in.

    Without ``access``, a server bound to loopback accepts loopback peers only, one bound
    elsewhere loopback and private addresses, and no AGI secret is asked for.
    """

    def __init__(
        self,
        routes: Mapping[str, Handler],
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        limits: FastAGILimits | None = None,
        access: PeerAccess | None = None,
        on_call_end: Callable[[CallOutcome], None] | None = None,
    ) -> None:
        for script, handler in routes.items():
            if not _is_coroutine_function(handler):
                raise TypeError(f"handler for {script!r} must be an async function")
        self._routes = dict(routes)
        self._host = host
        self._port = port
        self.limits = limits or FastAGILimits()
        self.access = access or PeerAccess.for_host(host)
        self._on_call_end = on_call_end
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[object]] = set()
        self._running_handlers: set[asyncio.Task[object]] = set()
        self._closed = asyncio.Event()
        self._closing = False
        self.stats = ServerStats()
        self._log_refused = _ThrottledLog(REFUSAL_LOG_INTERVAL)
        self._log_denied = _ThrottledLog(REFUSAL_LOG_INTERVAL)
        # One throttle per kind of bad request (the message up to its first colon; our
        # own fixed texts, so the dict stays small).
        self._log_bad: dict[str, _ThrottledLog] = {}
        self._log_empty = _ThrottledLog(REFUSAL_LOG_INTERVAL, logging.INFO)

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("server is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_sessions(self) -> int:
        """Connections being served now (headers being read, or a handler running)."""
        return len(self._connections)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connection,
            self._host,
            self._port,
            limit=self.limits.max_line_bytes,
            # A burst of calls connects at once: let the kernel queue up to the cap.
            backlog=max(100, self.limits.max_sessions),
        )
        logger.info(
            "FastAGI listening on %s:%d (%s; at most %d sessions)",
            self._host,
            self.bound_port,
            self.access.describe(),
            self.limits.max_sessions,
        )

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
        peer = writer.get_extra_info("peername")
        if not self.access.address_allowed(peer):
            self._refuse(writer, "denied", f"peer address {_peer_host(peer)} not allowed")
            self._log_denied.log("FastAGI connection from %s denied: address not allowed", peer)
            return
        if len(self._connections) >= self.limits.max_sessions:
            self._refuse(writer, "refused", "session cap reached")
            self._log_refused.log(
                "FastAGI connection from %s refused: %d sessions already (the cap); "
                "the dialplan queues the call",
                peer,
                self.limits.max_sessions,
            )
            return
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

    def _refuse(self, writer: asyncio.StreamWriter, status: CallStatus, reason: str) -> None:
        """Close at once, reading nothing (the kernel drops whatever the peer sent)."""
        writer.transport.abort()
        self._record(CallOutcome("", "", status, reason))

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        task: asyncio.Task[object],
    ) -> CallOutcome:
        peer = writer.get_extra_info("peername")
        try:
            lines = await self._read_headers(reader)
            env = None if lines is None else parse_header_env(lines)
        except (AGIProtocolError, TimeoutError) as exc:
            error = str(exc) or "header timeout"
            kind = error.split(":", 1)[0]
            throttle = self._log_bad.setdefault(kind, _ThrottledLog(REFUSAL_LOG_INTERVAL))
            throttle.log("bad request from %s: %s; closed", peer, error)
            return CallOutcome("", "", "bad_request", error)
        if env is None:
            self._log_empty.log("connection from %s closed before any header", peer)
            return CallOutcome("", "", "bad_request", "no headers")
        request = request_from_env(redact_secret(env))
        if not self.access.secret_matches(env.get("agi_network_script", "")):
            self._log_denied.log(
                "FastAGI request from %s denied: missing or wrong AGI secret (script %r)",
                peer,
                request.script[:64],
            )
            return CallOutcome("", request.script, "denied", "missing or wrong AGI secret")
        with call_context(request.uniqueid, request.linkedid):
            logger.info("call start script=%s channel=%s", request.script, request.channel)
            channel = StreamChannel(request, reader, writer, self.limits)
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

    async def _read_headers(self, reader: asyncio.StreamReader) -> list[str] | None:
        """The header lines before the blank line; None if the peer sent nothing at all."""
        limits = self.limits
        lines: list[str] = []
        size = 0
        async with asyncio.timeout(limits.header_timeout):
            while True:
                data = await read_raw_line(reader, limits.max_line_bytes)
                if data is None:
                    if lines:
                        raise AGIProtocolError("connection closed in the middle of the headers")
                    return None
                size += len(data)
                if size > limits.max_header_bytes:
                    raise AGIProtocolError(f"headers longer than {limits.max_header_bytes} bytes")
                line = data.decode("utf-8", errors="replace")
                if not line.rstrip("\r\n"):
                    return lines
                if len(lines) >= limits.max_header_lines:
                    raise AGIProtocolError(f"more than {limits.max_header_lines} header lines")
                lines.append(line)

    def _record(self, outcome: CallOutcome) -> None:
        if outcome.status in ("ok", "hangup"):
            self.stats.handled += 1
        elif outcome.status in ("failed", "timeout"):
            self.stats.failed += 1
        elif outcome.status == "refused":
            self.stats.refused += 1
        elif outcome.status == "denied":
            self.stats.denied += 1
        else:
            self.stats.rejected += 1
        if self._on_call_end is not None:
            try:
                self._on_call_end(outcome)
            except Exception:
                logger.exception("on_call_end callback failed")
