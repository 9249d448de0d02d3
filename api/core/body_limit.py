"""Request body limits, applied before anything reads or parses a body.

FastAPI reads and parses a route's body before its dependencies run, the token check
among them; without a limit, anyone could make the API hold any amount of memory. This
pure ASGI middleware refuses a body over the limit with 413 (the JSON error body):

- up front, from ``Content-Length``, without reading a byte of the body;
- while it streams (chunked, or a body longer than announced), once the bytes received
  pass the limit: the app's reading stops, whatever it answered is dropped and the client
  gets the 413 instead.

Either way the connection is closed after the 413 (the rest of the body is never read).

A route's own limit is keyed by its method and path template: ``{name}`` stands for one
path segment (``/complaints/{ticket}/attachments``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once the body passed its limit."""


class BodyLimit:
    """Limit request bodies to ``default`` bytes, or ``routes[(method, path)]`` bytes."""

    def __init__(
        self, app: ASGIApp, *, default: int, routes: Mapping[tuple[str, str], int]
    ) -> None:
        self.app = app
        self.default = default
        self.exact = {key: limit for key, limit in routes.items() if "{" not in key[1]}
        self.templated = [
            (method, _template(path), limit)
            for (method, path), limit in routes.items()
            if "{" in path
        ]

    def limit_of(self, method: str, path: str) -> int:
        exact = self.exact.get((method, path))
        if exact is not None:
            return exact
        for route_method, pattern, limit in self.templated:
            if route_method == method and pattern.fullmatch(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(f"request body over {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body cut short; the 413 goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # The app may wrap BodyTooLarge in its own error, or let it through.
            if not exceeded:
                raise
        if exceeded and not started:
            await _refuse(send, limit)


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[a-z_]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {"error": "body_too_large", "message": f"the request body is over {limit} bytes"}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
