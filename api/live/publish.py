"""``publish``: a live event written in the caller's transaction, pushed after its commit.

On PostgreSQL every publishing transaction takes one advisory lock from its insert to its
commit, so ids are handed out in commit order: a hub that has read up to id N can never
later see a row below N appear (with a plain sequence, a transaction that took id 10 could
commit after the one that took 11, and the reader that already moved past 11 would skip
it). The price is that publishing transactions commit one at a time from the insert on:
call ``publish`` last in a transaction, after its other locks and work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from api.core.db import is_postgres
from api.live.models import LiveEvent

CHANNEL = "lapor_live"
MAX_TOPIC = 96
MAX_KIND = 32
MAX_DATA_BYTES = 4096
# pg_advisory_xact_lock(space, key); spaces 1 and 2 are the ingest's, 0x534D53 the SMS's.
_LOCK_SPACE = 0x4C495645  # "LIVE"
_LOCK_KEY = 0
_PENDING = "lapor_live_engines"

_wakers: dict[Engine, Callable[[], None]] = {}
_wakers_lock = threading.Lock()


def register_waker(engine: Engine, wake: Callable[[], None]) -> None:
    """Call ``wake`` after every commit that published through ``engine`` (one per engine)."""
    with _wakers_lock:
        _wakers[engine] = wake


def unregister_waker(engine: Engine, wake: Callable[[], None]) -> None:
    with _wakers_lock:
        if _wakers.get(engine) is wake:
            del _wakers[engine]


def encode(data: dict[str, Any]) -> str:
    """``data`` as compact JSON, or ValueError if it is not JSON or over 4 KiB."""
    try:
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"live event data is not JSON: {exc}") from None
    if len(encoded.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"live event data is over {MAX_DATA_BYTES} bytes as JSON")
    return encoded


def publish(session: Session, topic: str, kind: str, data: dict[str, Any]) -> None:
    """Add a live event to ``session``'s transaction; subscribers get it after the commit."""
    if not isinstance(data, dict):
        raise ValueError("live event data must be a dict")
    if not 0 < len(topic) <= MAX_TOPIC:
        raise ValueError(f"live topic must be 1 to {MAX_TOPIC} characters")
    if not 0 < len(kind) <= MAX_KIND:
        raise ValueError(f"live event kind must be 1 to {MAX_KIND} characters")
    # Stored as it will be sent: what json.loads gives back (tuples become lists).
    stored = json.loads(encode(data))
    postgres = is_postgres(session)
    if postgres:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _LOCK_SPACE, "key": _LOCK_KEY},
        )
    row = {"topic": topic, "kind": kind, "data": stored, "at": datetime.now(UTC)}
    session.execute(insert(LiveEvent).values(**row))
    if postgres:
        # Delivered to every listening replica when (and only if) this transaction commits.
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    session.info.setdefault(_PENDING, set()).add(session.get_bind().engine)


def latest_id(session: Session) -> int:
    """The newest live event's id (0 if none): a page rendered now can pass it to the
    event stream (``?last_event_id=``) so nothing published after the render is missed."""
    value = session.execute(select(func.max(LiveEvent.id))).scalar()
    return int(value or 0)


@event.listens_for(OrmSession, "after_commit")
def _wake_after_commit(session: OrmSession) -> None:
    engines: set[Engine] | None = session.info.pop(_PENDING, None)
    for engine in engines or ():
        with _wakers_lock:
            wake = _wakers.get(engine)
        if wake is not None:
            wake()


@event.listens_for(OrmSession, "after_rollback")
def _forget_after_rollback(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)
