"""The ``POST /events`` envelope, shared by the collector and the API."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from api.core.text import without_nul

# The collector's own event: Asterisk's QueueStatus answer, taken at every AMI (re)connect.
# Fields: ``Timestamp`` (when QueueStatus was sent, epoch seconds; events from then on are
# applied on top of it) and ``Queues``, ``Members`` and ``Entries``, each a JSON list of
# the QueueParams, QueueMember and QueueEntry answers' headers.
QUEUE_SNAPSHOT = "LaporQueueSnapshot"


class EventIn(BaseModel):
    """One AMI event as the collector received it."""

    id: str = Field(
        min_length=1,
        max_length=120,
        description=(
            "Globally unique; assigned by the collector on receipt, before delivery, as"
            " `<node>:<32 hex digits, random per collector start>.<sequence from 1>`."
        ),
    )
    node: str = Field(min_length=1, max_length=64, description="The Asterisk node's name.")
    received_at: AwareDatetime = Field(description="When the collector received it (UTC).")
    name: str = Field(min_length=1, max_length=64, description="The AMI Event header.")
    fields: dict[str, str] = Field(description="Every AMI header, as strings.")


class EventBatch(BaseModel):
    events: list[EventIn] = Field(max_length=10_000)

    def without_nul(self) -> EventBatch:
        """The batch with every NUL in its text replaced (see ``without_nul``)."""
        events = [
            e.model_copy(
                update={
                    "id": without_nul(e.id),
                    "node": without_nul(e.node),
                    "name": without_nul(e.name),
                    "fields": {without_nul(k): without_nul(v) for k, v in e.fields.items()},
                }
            )
            for e in self.events
        ]
        return EventBatch(events=events)


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
