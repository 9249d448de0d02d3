"""What newly stored events tell the people's pages, pushed in the ingest's transaction.

An officer's console listens on ``agent:<username>``: a queue call ringing their phone,
answered, missed or ended, and their queue state changing. Every console listens on
``callbacks``: a callback's dial outcome arrived. Only events stored for the first time
push (a redelivered batch pushes nothing), and a push commits with the events, so a
console never hears of an event the database does not have.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlmodel import Session, col, select

from api.events.bulk import EventRow
from api.events.derive import CUT_OFF
from api.events.models import AgentRing
from api.live.publish import publish

CALLBACKS_TOPIC = "callbacks"
# The wallboards: "changed" when the queue or the officers changed. At most one push per
# this many seconds per API process (the boards also redraw on their own every few
# seconds), so a busy call center doesn't write a push per batch.
SUPERVISORS_TOPIC = "supervisors"
SUPERVISORS_EVERY_SECONDS = 1.0
_QUEUE_EVENTS = ("Queue", "Agent", CUT_OFF)
_CALL_PUSHES = {
    "AgentCalled": "ring",
    "AgentConnect": "answered",
    "AgentRingNoAnswer": "missed",
    "AgentComplete": "ended",
    CUT_OFF: "ended",  # the call died with its node's Asterisk (api/events/restarts.py)
}
_STATE_EVENTS = frozenset(
    {"QueueMemberAdded", "QueueMemberRemoved", "QueueMemberPause", "QueueMemberPaused"}
)
# Topic names are bounded (live_event.topic); a longer member name gets no push.
_MAX_AGENT = 80


def agent_topic(username: str) -> str:
    return f"agent:{username}"


class _Throttle:
    def __init__(self, every: float) -> None:
        self.every, self.last = every, float("-inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.every:
            return False
        self.last = now
        return True


_supervisors = _Throttle(SUPERVISORS_EVERY_SECONDS)


def push_new(session: Session, events: Sequence[EventRow]) -> None:
    """Publish what these newly stored events mean to the consoles and wallboards."""
    if any(e.name.startswith(_QUEUE_EVENTS) for e in events) and _supervisors.due():
        publish(session, SUPERVISORS_TOPIC, "changed", {})
    abandoned: list[EventRow] = []
    for e in events:
        member = str(e.fields.get("MemberName") or "")
        kind = _CALL_PUSHES.get(e.name)
        if kind and e.linkedid and 0 < len(member) <= _MAX_AGENT:
            data = {"linkedid": e.linkedid, "node": e.node}
            publish(session, agent_topic(member), kind, data)
        elif e.name in _STATE_EVENTS and 0 < len(member) <= _MAX_AGENT:
            publish(session, agent_topic(member), "state", {"node": e.node})
        elif e.name == "QueueCallerAbandon" and e.linkedid:
            abandoned.append(e)
        elif e.name == "UserEvent" and e.fields.get("UserEvent") == "LaporCallbackDial":
            callback = str(e.fields.get("Callback") or "")[:24]
            publish(session, CALLBACKS_TOPIC, "callback", {"callback_id": callback})
    if abandoned:
        _push_abandoned(session, abandoned)


def _push_abandoned(session: Session, events: Sequence[EventRow]) -> None:
    """A caller who hung up while an officer's phone rang: that ring is over."""
    linkedids = {e.linkedid for e in events}
    rings = session.exec(select(AgentRing).where(col(AgentRing.linkedid).in_(linkedids))).all()
    for ring in rings:
        if len(ring.agent) <= _MAX_AGENT and ring.linkedid:
            data = {"linkedid": ring.linkedid, "node": ring.node}
            publish(session, agent_topic(ring.agent), "ended", data)
