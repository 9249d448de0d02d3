"""The ``POST /events`` envelope, shared by the collector and the API."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


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


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
