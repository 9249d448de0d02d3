"""A tiny HTTP listener for Prometheus and health probes, shared by ``lapor-ivr`` and
``lapor-collector``: ``GET /metrics``, ``GET /health/live`` and ``GET /health/ready``.

It asks for no token, so it listens on loopback unless the operator names another
address (a private network, e.g. compose's). Whatever connects may be a port scanner:
the request line and the header block are bounded in size and time, a few connections
at most are served at once (the rest are closed unread), every answer closes the
connection, and nothing that happens here can reach the service it runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST

logger = logging.getLogger(__name__)

# Longest request or header line, in bytes (Prometheus sends short ones).
LINE_LIMIT = 1024
HEADER_LINES = 32
# Seconds from the connection to the end of its header block.
REQUEST_TIMEOUT = 5.0
# Connections served at once; more are closed at once without reading.
MAX_CONNECTIONS = 8

# ``ready`` answers None when ready, else why not (the 503's body).
Readiness = Callable[[], str | None]


@dataclass(frozen=True)
class _Answer:
    status: str
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


class ProbeListener:
    """Serves ``render()`` (the exposition text) and the two health probes on host:port."""

    def __init__(
        self, host: str, port: int, *, render: Callable[[], bytes], ready: Readiness
    ) -> None:
        self._host, self._port = host, port
        self._render, self._ready = render, ready
        self._server: asyncio.Server | None = None
        self._active = 0

    @property
    def bound_port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("listener is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> bool:
        """Listen; False (logged) if the address can't be had: the service runs on
        without its probes rather than stop taking calls over a metrics port."""
        try:
            self._server = await asyncio.start_server(
                self._on_connection, self._host, self._port, limit=LINE_LIMIT
            )
        except OSError as exc:
            logger.error(
                "metrics and health NOT served: cannot listen on %s:%d: %s",
                self._host,
                self._port,
                exc.strerror or exc,
            )
            return False
        logger.info("metrics and health on http://%s:%d", self._host, self.bound_port)
        return True

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._active >= MAX_CONNECTIONS:
            writer.transport.abort()
            return
        self._active += 1
        try:
            path = await _read_request(reader)
            if path is not None:
                writer.write(_response(self._answer(*path)))
                await writer.drain()
        except (OSError, TimeoutError, ValueError):
            pass  # a broken or slow client: nothing to answer
        except Exception:  # the service must outlive any bug in here
            logger.exception("metrics listener: request failed")
        finally:
            self._active -= 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _answer(self, method: str, path: str) -> _Answer:
        if method != "GET":
            return _Answer("405 Method Not Allowed", b"GET only\n")
        path = path.split("?", 1)[0]
        if path == "/metrics":
            return _Answer("200 OK", self._render(), CONTENT_TYPE_LATEST)
        if path == "/health/live":
            return _Answer("200 OK", b"live\n")
        if path == "/health/ready":
            problem = self._ready()
            if problem is None:
                return _Answer("200 OK", b"ready\n")
            return _Answer("503 Service Unavailable", f"not ready: {problem}\n".encode())
        return _Answer("404 Not Found", b"not found\n")


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str] | None:
    """The request's method and target, the header block read and dropped; None if the
    peer sent no request. ValueError for an oversized or malformed one."""
    async with asyncio.timeout(REQUEST_TIMEOUT):
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as exc:
            raise ValueError("request line too long") from exc
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise ValueError("not an HTTP request")
        for _ in range(HEADER_LINES):
            try:
                header = await reader.readuntil(b"\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                raise ValueError("bad header block") from exc
            if not header.strip():
                return parts[0], parts[1]
        raise ValueError("too many header lines")


def _response(answer: _Answer) -> bytes:
    head = (
        f"HTTP/1.1 {answer.status}\r\n"
        f"Content-Type: {answer.content_type}\r\n"
        f"Content-Length: {len(answer.body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + answer.body
