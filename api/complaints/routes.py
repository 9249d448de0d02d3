"""Complaints: the IVR creates them; staff search, edit and move them along the workflow.

Who sees what: city units see only the complaints assigned to their unit, and the
citizen's phone number is masked for roles that don't call citizens (leadership, unit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel

from api.complaints import models as service
from api.complaints.attachments import attachments_of
from api.complaints.models import (
    SEES_NUMBERS,
    TICKET_PATTERN,
    ClientInstant,
    ComplaintCategory,
    ComplaintChannel,
    ComplaintCreate,
    ComplaintPublic,
    public,
)
from api.complaints.search import ComplaintFilter, overdue, search
from api.complaints.service import (
    ComplaintEdit,
    StatusChange,
    change_status,
    edit_complaint,
    history_of,
    serve_recording,
    unit_scope,
    visible_complaint,
)
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Principal, Role, require_roles
from api.core.clock import utc_now
from api.core.created import created_or_known
from api.core.db import SessionDep
from api.core.deps import CalendarDep, SettingsDep
from api.core.errors import Forbidden

router = APIRouter(prefix="/complaints", tags=["complaints"])

# Every role a person logs in with (the ivr, collector and gateway machines are not people).
PERSON_ROLES = (Role.agent, Role.supervisor, Role.leadership, Role.unit, Role.admin)
Ticket = Annotated[str, Path(pattern=TICKET_PATTERN)]


class ComplaintList(BaseModel):
    items: list[ComplaintPublic]
    total: int
    offset: int
    limit: int


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    role: str
    from_status: ComplaintStatus
    to_status: ComplaintStatus
    note: str
    # The ids of the attachments this row recorded (GET /complaints/{ticket}/attachments).
    attachments: list[int] = []


@router.post("", status_code=status.HTTP_201_CREATED)
def create_complaint(
    body: ComplaintCreate,
    session: SessionDep,
    response: Response,
    calendar: CalendarDep,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> ComplaintPublic:
    """Store a complaint taken by the IVR (200 with the stored one if the ticket exists)."""
    complaint, created = service.create_complaint(session, data=body, calendar=calendar)
    created_or_known(response, created)
    return public(complaint, Role.ivr)


@router.get("")
def list_complaints(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(*PERSON_ROLES))],
    status: ComplaintStatus | None = None,
    category: ComplaintCategory | None = None,
    channel: ComplaintChannel | None = None,
    unit: Annotated[str | None, Query(max_length=100)] = None,
    taken_from: ClientInstant | None = None,
    taken_to: ClientInstant | None = None,
    caller: Annotated[str | None, Query(pattern=r"^\+?[0-9]{1,32}$")] = None,
    text: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ComplaintList:
    """Search complaints (newest first): every given filter narrows the list."""
    scope = unit_scope(session, principal)
    if scope is not None and unit not in (None, scope):
        raise Forbidden("a unit sees only its own complaints")
    filters = ComplaintFilter(
        status=status,
        category=category,
        channel=channel,
        unit=scope or unit,
        taken_from=taken_from,
        taken_to=taken_to,
        caller=caller if principal.role in SEES_NUMBERS else None,
        text=text,
    )
    rows, page = search(session, filters, offset=offset, limit=limit)
    return ComplaintList(items=[public(row, principal.role) for row in rows], **page.model_dump())


@router.get("/overdue")
def list_overdue(
    session: SessionDep,
    principal: Annotated[
        Principal, Depends(require_roles(Role.supervisor, Role.leadership, Role.unit, Role.admin))
    ],
) -> list[ComplaintPublic]:
    """Complaints past their LAPOR! deadline, the longest overdue first."""
    rows = overdue(session, utc_now(), unit=unit_scope(session, principal))
    return [public(row, principal.role) for row in rows]


@router.get("/{ticket}")
def get_complaint(
    ticket: Ticket,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(Role.ivr, *PERSON_ROLES))],
) -> ComplaintPublic:
    """Return one complaint by its ticket number."""
    return public(visible_complaint(session, ticket, principal), principal.role)


@router.patch("/{ticket}")
def edit(
    ticket: Ticket,
    body: ComplaintEdit,
    session: SessionDep,
    principal: Annotated[
        Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))
    ],
) -> ComplaintPublic:
    """Correct the category, add a location or a summary (during or after the call)."""
    complaint = edit_complaint(session, ticket=ticket, edit=body, principal=principal)
    return public(complaint, principal.role)


@router.post("/{ticket}/status")
def move(
    ticket: Ticket,
    body: StatusChange,
    session: SessionDep,
    calendar: CalendarDep,
    principal: Annotated[
        Principal, Depends(require_roles(Role.supervisor, Role.leadership, Role.unit, Role.admin))
    ],
) -> ComplaintPublic:
    """Move the complaint along the workflow; an illegal move is 409 and changes nothing."""
    complaint = change_status(
        session,
        ticket=ticket,
        change=body,
        principal=principal,
        calendar=calendar,
        own_unit=unit_scope(session, principal),
    )
    return public(complaint, principal.role)


@router.get("/{ticket}/history")
def history(
    ticket: Ticket,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(*PERSON_ROLES))],
) -> list[HistoryEntry]:
    """The audit trail: every status change, edit and upload, oldest first."""
    complaint = visible_complaint(session, ticket, principal)
    files: dict[int | None, list[int]] = {}
    for attached in attachments_of(session, complaint):
        assert attached.id is not None
        files.setdefault(attached.history_id, []).append(attached.id)
    return [
        HistoryEntry.model_validate(row, from_attributes=True).model_copy(
            update={"attachments": files.get(row.id, [])}
        )
        for row in history_of(session, complaint)
    ]


@router.get("/{ticket}/recording", response_class=FileResponse)
def recording(
    ticket: Ticket,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_roles(*PERSON_ROLES))],
) -> FileResponse:
    """The citizen's recorded complaint (WAV); supports HTTP Range for seeking. Each
    playback or download is logged (``/audit/recordings``)."""
    complaint = visible_complaint(session, ticket, principal)
    return serve_recording(session, request, principal, complaint, settings.recordings_dir)
