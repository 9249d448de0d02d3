"""Complaints: the IVR creates them (idempotent by ticket); staff and the IVR read them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api import complaints as service
from api.auth import Principal, Role, require_roles
from api.complaints import TICKET_PATTERN, ComplaintCreate, ComplaintPublic
from api.db import SessionDep

router = APIRouter(prefix="/complaints", tags=["complaints"])

_READERS = (Role.ivr, Role.agent, Role.supervisor, Role.admin)
Ticket = Annotated[str, Path(pattern=TICKET_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_complaint(
    body: ComplaintCreate,
    session: SessionDep,
    response: Response,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> ComplaintPublic:
    """Store a complaint taken by the IVR (200 with the stored one if the ticket exists)."""
    complaint, created = service.create_complaint(session, data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ComplaintPublic.model_validate(complaint)


@router.get("/{ticket}")
def get_complaint(
    ticket: Ticket,
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(*_READERS))],
) -> ComplaintPublic:
    """Return one complaint by its ticket number."""
    return ComplaintPublic.model_validate(service.get_complaint(session, ticket=ticket))


@router.get("")
def list_complaints(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
    caller_number: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ComplaintPublic]:
    """List complaints, newest first, optionally for one caller number."""
    rows = service.list_complaints(session, caller_number=caller_number, limit=limit)
    return [ComplaintPublic.model_validate(row) for row in rows]
