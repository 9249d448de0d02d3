"""``event_stream``: a subscription as a Server-Sent Events response.

Mount it behind the page's own auth and pass the topics that user may see, e.g.
``return event_stream(request, frozenset({f"agent:{username}"}))``. The stream holds no
database connection between events (the hub reads for all subscribers at once).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import anyio
from fastapi import Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.core.clock import utc_now
from api.core.errors import ApiError
from api.core.metrics import SSE_CLIENTS
from api.live.hub import LiveHub

PING_SECONDS = 15
RETRY_MS = 2000
SHUTDOWN_GRACE_SECONDS = 2.0


class BadLastEventId(ApiError, status_code=400, error_id="bad_last_event_id"):
    """A Last-Event-ID (or ``last_event_id``) that is not a non-negative integer."""


def last_event_id(request: Request) -> int | None:
    """The browser's Last-Event-ID header (sent on its reconnects), else the page's
    ``?last_event_id=`` (an EventSource can't set headers on its first connect)."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadLastEventId("Last-Event-ID must be a live event id (a non-negative integer)")
    return int(raw)


class _ShutdownOrDeadline:
    """Waits for the server's shutdown, or until ``ends_at`` (a session's end)."""

    def __init__(self, shutdown: anyio.Event, ends_at: datetime) -> None:
        self.shutdown, self.ends_at = shutdown, ends_at

    async def wait(self) -> None:
        with anyio.move_on_after(max((self.ends_at - utc_now()).total_seconds(), 0)):
            await self.shutdown.wait()


def event_stream(
    request: Request, topics: frozenset[str], ends_at: datetime | None = None
) -> EventSourceResponse:
    """Stream ``topics``' events: ``id:`` the event's id, ``event:`` its kind, ``data:``
    its JSON; a ping every 15 s. A bad Last-Event-ID is a 400 before anything streams.

    With ``ends_at`` (when the viewer's session ends) the stream ends then: the browser's
    reconnect meets the sign-in check instead of going on hearing pushes."""
    after = last_event_id(request)
    hub: LiveHub = request.app.state.live
    # Set by sse-starlette when the server shuts down: the stream then ends by itself and
    # the response completes (a cancelled one makes uvicorn log an error per connection).
    shutdown = anyio.Event()

    async def events() -> AsyncIterator[ServerSentEvent]:
        # First thing on the wire: how soon to reconnect, and a sign the stream is open.
        yield ServerSentEvent(comment="live", retry=RETRY_MS)
        until = shutdown if ends_at is None else _ShutdownOrDeadline(shutdown, ends_at)
        SSE_CLIENTS.inc()
        try:
            async for message in hub.subscribe(topics, after, until=until):
                yield ServerSentEvent(
                    id=str(message.id),
                    event=message.kind,
                    data=json.dumps(message.data, separators=(",", ":"), ensure_ascii=False),
                )
        finally:
            SSE_CLIENTS.dec()

    return EventSourceResponse(
        events(),
        ping=PING_SECONDS,
        headers={"Cache-Control": "no-store"},
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )
