"""Which AMI events the collector keeps, and their typed form once received."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

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
)


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


def wanted(name: str, fields: dict[str, str]) -> bool:
    """UserEvents and VarSets only from the IVR (``Lapor…`` / ``LAPOR_…``)."""
    if name == "UserEvent":
        return fields.get("UserEvent", "").startswith("Lapor")
    if name == "VarSet":
        return fields.get("Variable", "").startswith("LAPOR_")
    return name in SUBSCRIBED


def _text(value: Any) -> str:
    # A header repeated in one frame arrives as a list (e.g. ChanVariable).
    return "\n".join(map(str, value)) if isinstance(value, list) else str(value)


def from_message(node: str, message: Any) -> ReceivedEvent | None:
    """Type an AMI message; None for one we don't keep. The id is new and globally unique."""
    fields = {str(k): _text(v) for k, v in dict(message).items()}
    name = fields.get("Event", "")
    if not wanted(name, fields):
        return None
    return ReceivedEvent(
        id=f"{node}:{uuid.uuid4().hex}",
        node=node,
        received_at=datetime.now(UTC),
        name=name,
        fields=fields,
    )
