"""A complaint's attachments over the API: the unit following it up (or a supervisor or
admin) uploads photos and documents; whoever may read the complaint lists and downloads
them, a unit only its own complaints'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, UploadFile, status
from fastapi.responses import FileResponse

from api.complaints.attachments import (
    AttachmentPublic,
    Upload,
    attachment_response,
    attachments_of,
    public_attachment,
    upload,
)
from api.complaints.routes import PERSON_ROLES, Ticket
from api.complaints.service import unit_scope, visible_complaint
from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.deps import SettingsDep

router = APIRouter(prefix="/complaints", tags=["complaints"])
UPLOADERS = (Role.supervisor, Role.unit, Role.admin)


@router.post("/{ticket}/attachments", status_code=status.HTTP_201_CREATED)
def add_attachments(
    ticket: Ticket,
    files: Annotated[list[UploadFile], File(description="JPEG, PNG, WebP or PDF")],
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_roles(*UPLOADERS))],
) -> list[AttachmentPublic]:
    """Attach photos or documents to a complaint under follow-up or closed (their type is
    read from their first bytes; too large is 413, another type 415)."""
    rows = upload(
        session,
        ticket=ticket,
        uploads=[Upload(name=one.filename, file=one.file) for one in files],
        principal=principal,
        own_unit=unit_scope(session, principal),
        settings=settings,
    )
    return [public_attachment(row) for row in rows]


@router.get("/{ticket}/attachments")
def list_attachments(
    ticket: Ticket,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(*PERSON_ROLES))],
) -> list[AttachmentPublic]:
    """The complaint's attachments, oldest first."""
    complaint = visible_complaint(session, ticket, principal)
    return [public_attachment(row) for row in attachments_of(session, complaint)]


@router.get("/{ticket}/attachments/{attachment_id}", response_class=FileResponse)
def download_attachment(
    ticket: Ticket,
    attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_roles(*PERSON_ROLES))],
) -> FileResponse:
    """One attachment's file (images inline, PDFs as a download)."""
    complaint = visible_complaint(session, ticket, principal)
    return attachment_response(session, complaint, attachment_id, settings.attachments_dir)
