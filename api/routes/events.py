"""``POST /events``: the collector's batches of AMI events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, Role, require_roles
from api.db import SessionDep
from api.events.schemas import EventBatch, IngestResult
from api.events.service import ingest
from api.stats.aggregate import Thresholds

router = APIRouter(tags=["events"])


def thresholds(request: Request) -> Thresholds:
    settings = request.app.state.settings
    return Thresholds(settings.short_abandon_seconds, settings.service_level_seconds)


@router.post("/events")
def post_events(
    batch: EventBatch,
    session: SessionDep,
    request: Request,
    _: Annotated[Principal, Depends(require_roles(Role.collector))],
) -> IngestResult:
    """Store a batch of AMI events idempotently and update the calls they belong to.

    Body: ``{"events": [{"id", "node", "received_at", "name", "fields"}]}``. ``id`` is
    globally unique, assigned by the collector when it first receives the event and
    persisted before delivery; ``fields`` holds every AMI header as a string. An id already
    stored is counted in ``duplicates`` and changes nothing, so a batch may be re-sent
    safely. Events may arrive in any order: each call is derived from all its events.
    """
    return ingest(session, batch.events, thresholds(request))
