"""Live push to browsers: events written in the business transaction, fanned out over SSE.

``publish`` adds a ``live_event`` row in the caller's transaction; at commit, the local
``LiveHub`` is woken (and every other replica's through PostgreSQL ``NOTIFY``); each hub
reads the new rows in one query and hands them to its subscribers. ``event_stream`` turns
a subscription into a Server-Sent Events response.
"""

from __future__ import annotations

from api.live.hub import LiveHub, LiveMessage
from api.live.models import LiveEvent
from api.live.publish import latest_id, publish
from api.live.sse import event_stream

__all__ = ["LiveEvent", "LiveHub", "LiveMessage", "event_stream", "latest_id", "publish"]
