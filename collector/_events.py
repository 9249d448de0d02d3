"""Which AMI events the collector keeps, and their typed form once received."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from api.events.schemas import QUEUE_SNAPSHOT

# Subscribed by name (never "*"): queue, agent, channel life and the IVR's own events.
SUBSCRIBED = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "AgentDump",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueMemberStatus",
    "QueueMemberPenalty",
    "QueueMemberRinginuse",
    "Newchannel",
    "Hangup",
    "UserEvent",
    "VarSet",
    # At each login and when Asterisk finishes booting: its Uptime tells the API which
    # open calls died with a restart (api/events/restarts.py). Needs read = system.
    "FullyBooted",
)
_SUBSCRIBED = frozenset(SUBSCRIBED)


class Envelope(TypedDict):
    """One event in the ``POST /events`` body."""

    id: str
    node: str
    received_at: str
    name: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ReceivedEvent:
    id: str
    node: str
    received_at: datetime
    name: str
    fields: dict[str, str]

    def envelope(self) -> Envelope:
        return {
            "id": self.id,
            "node": self.node,
            "received_at": self.received_at.isoformat(),
            "name": self.name,
            "fields": self.fields,
        }


class EventIds:
    """``<node>:<32 hex digits, random per instance>.<sequence from 1>``: globally unique.

    One uuid4 per collector start instead of one per event (each costs a urandom read).
    """

    def __init__(self, node: str) -> None:
        self._prefix = f"{node}:{uuid.uuid4().hex}."
        self._next = itertools.count(1).__next__

    def __call__(self) -> str:
        return f"{self._prefix}{self._next()}"


# The IVR's marks for a backup FastAGI server to resume a call from
# (agi_scripts/progress.py, callback.py): several per call, of no use to the API.
RESUME_MARKS = ("LAPOR_STEP", "LAPOR_CALLBACK_REQUEST")


def wanted(name: str, fields: dict[str, str]) -> bool:
    """UserEvents and VarSets only from the IVR (``Lapor…`` / ``LAPOR_…``), but for its
    resume marks."""
    if name == "UserEvent":
        return fields.get("UserEvent", "").startswith("Lapor")
    if name == "VarSet":
        variable = fields.get("Variable", "")
        return variable.startswith("LAPOR_") and not variable.startswith(RESUME_MARKS)
    return name in _SUBSCRIBED


def _text(value: Any) -> str:
    # A header repeated in one frame arrives as a list (e.g. ChanVariable).
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def from_fields(node: str, new_id: EventIds, fields: dict[str, str]) -> ReceivedEvent | None:
    """Type an AMI event's headers; None for one we don't keep."""
    name = fields.get("Event", "")
    if not wanted(name, fields):
        return None
    return ReceivedEvent(new_id(), node, datetime.now(UTC), name, fields)


def from_message(node: str, message: Any, new_id: EventIds | None = None) -> ReceivedEvent | None:
    """Type a panoramisk message; None for one we don't keep. The id is new and globally unique."""
    return from_fields(node, new_id or EventIds(node), headers_of(message))


def headers_of(message: Any) -> dict[str, str]:
    """A panoramisk message's headers as strings."""
    # Its "content" key is the reply's body (panoramisk's, empty for events), not a header.
    return {str(k): _text(v) for k, v in dict(message).items() if k != "content"}


# QueueStatus's answers, by the key they go under in the snapshot's fields.
_SNAPSHOT_PARTS = {"QueueParams": "Queues", "QueueMember": "Members", "QueueEntry": "Entries"}
# Headers of the answer that say nothing about the queue.
_NOT_STATE = frozenset({"Event", "ActionID", "Privilege"})


def snapshot_event(
    node: str, new_id: EventIds, taken_at: datetime, answers: Iterable[dict[str, str]]
) -> ReceivedEvent:
    """QueueStatus's answers as one event: the node's queues, members and waiting callers.

    ``taken_at`` is when the action was sent, on this session: every event from then on
    reached this session and is applied on top of the snapshot by the API.
    """
    parts: dict[str, list[dict[str, str]]] = {key: [] for key in _SNAPSHOT_PARTS.values()}
    for answer in answers:
        key = _SNAPSHOT_PARTS.get(answer.get("Event", ""))
        if key is not None:
            parts[key].append({k: v for k, v in answer.items() if k not in _NOT_STATE})
    fields = {"Timestamp": f"{taken_at.timestamp():.6f}"}
    fields.update({key: json.dumps(rows, ensure_ascii=False) for key, rows in parts.items()})
    return ReceivedEvent(new_id(), node, datetime.now(UTC), QUEUE_SNAPSHOT, fields)
