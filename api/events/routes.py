"""``POST /events``: the collector's batches of AMI events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.metrics import count_events, count_rejected_events
from api.events.hourly import thresholds
from api.events.schemas import EventBatch, IngestResult
from api.events.service import ingest

router = APIRouter(tags=["events"])


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined (an operation has no ``$defs``)."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    result: dict[str, Any] = resolve(schema)
    return result


# The body is documented here since the route reads it itself (see ``event_batch``).
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(EventBatch.model_json_schema())}},
    }
}


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def event_batch(body: Annotated[bytes, Depends(_raw_body)]) -> EventBatch:
    """The body validated straight from its JSON text, about twice as fast as FastAPI's
    ``json.loads`` and then validation of the objects; same 422 on invalid input."""
    try:
        batch = EventBatch.model_validate_json(body)
    except ValidationError as exc:
        count_rejected_events(error["loc"] for error in exc.errors(include_url=False))
        errors = []
        for error in exc.errors(include_url=False):
            if error["type"] == "json_invalid":
                error["input"] = {}  # not the whole body back
            errors.append({**error, "loc": ("body", *error["loc"])})
        raise RequestValidationError(errors) from None
    # JSON text holds a NUL only as this escape: most batches skip the walk.
    return batch.without_nul() if b"\\u0000" in body else batch


@router.post("/events", openapi_extra=_BODY)
def post_events(
    _: Annotated[Principal, Depends(require_roles(Role.collector))],
    batch: Annotated[EventBatch, Depends(event_batch)],
    session: SessionDep,
    request: Request,
) -> IngestResult:
    """Store a batch of AMI events idempotently and update the calls they belong to.

    Body: ``{"events": [{"id", "node", "received_at", "name", "fields"}]}``. ``id`` is
    globally unique, assigned by the collector when it first receives the event and
    persisted before delivery; ``fields`` holds every AMI header as a string. An id already
    stored is counted in ``duplicates`` and changes nothing, so a batch may be re-sent
    safely. Events may arrive in any order: each call is derived from all its events.
    """
    result = ingest(session, batch.events, thresholds(request))
    count_events(result.accepted, result.duplicates)
    return result
