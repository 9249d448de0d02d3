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
def serving(app: ASGIApp) -> Iterator[str]:
    """``app`` under uvicorn in a thread for the ``with`` block; yields its base URL
    (``http://127.0.0.1:PORT``, a secure context, so ``getUserMedia`` works there)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
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
