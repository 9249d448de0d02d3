"""An ASGI app served over real HTTP on a free loopback port, for a browser to open."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT_S = 10.0


@contextmanager
def serving(app: ASGIApp, port: int = 0) -> Iterator[str]:
    """``app`` under uvicorn in a thread for the ``with`` block; yields its base URL
    (``http://127.0.0.1:PORT``, a secure context, so ``getUserMedia`` works there).

    ``port`` 0 takes a free one; a given port serves again where a stopped server was (an
    API restart, as the browser sees it)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    port = listener.getsockname()[1]
    # Open event streams never end by themselves: a stop cuts them after a second.
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        listener.close()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    ready = threading.Event()
    for _ in range(int(START_TIMEOUT_S / 0.02)):
        if server.started:
            return
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before it started listening")
        ready.wait(0.02)
    raise RuntimeError(f"uvicorn did not start within {START_TIMEOUT_S} s")
