"""Photos and documents attached to a complaint by the unit that follows it up.

Each upload is recorded in the complaint's audit trail: attached while closing, the files
belong to the closing note's row; attached on their own, to a row of their own. A file is
put in place only with its row's commit, and removed again if that commit fails, so the
folder never holds a file the database does not know of (except after a crash between
the two, which leaves an orphan, never a row without its file).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel, col, func, select

from api.complaints.attachment_files import (
    EXTENSIONS,
    Staged,
    clean_name,
    discard,
    keep,
    stage,
)
from api.complaints.models import Complaint, ComplaintHistory
from api.complaints.service import locked_complaint, record
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Principal, Role
from api.core.clock import utc_now
from api.core.errors import Conflict, InvalidInput, NotFound
from api.core.settings import ApiSettings
from api.core.stored_files import stored_file

# While a unit works on the order, and after it closed it (evidence may come later).
OPEN_FOR_ATTACHMENTS = frozenset({ComplaintStatus.ditindaklanjuti, ComplaintStatus.selesai})


class ComplaintAttachment(SQLModel, table=True):
    __tablename__ = "complaint_attachment"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    # The audit row that records the upload (the closing note, when attached with it).
    history_id: int | None = Field(default=None, foreign_key="complaint_history.id")
    original_name: str = Field(max_length=120)
    stored_name: str = Field(max_length=64, unique=True)
    media_type: str = Field(max_length=40)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=100)
    uploaded_at: datetime = Field(default_factory=utc_now)


class AttachmentPublic(BaseModel):
    id: int
    history_id: int | None
    name: str = Field(validation_alias="original_name")
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


def public_attachment(row: ComplaintAttachment) -> AttachmentPublic:
    return AttachmentPublic.model_validate(row, from_attributes=True)


@dataclass(frozen=True)
class Upload:
    """One file as the client sent it: its name (untrusted) and its bytes."""

    name: str | None
    file: BinaryIO


def stage_all(uploads: list[Upload], settings: ApiSettings) -> list[Staged]:
    """Check and stage every upload; the first refusal discards all of them."""
    if len(uploads) > settings.attachments_max_count:
        raise too_many(settings)
    staged: list[Staged] = []
    folder, max_bytes = settings.attachments_dir, settings.attachment_max_bytes
    try:
        for one in uploads:
            staged.append(stage(one.file, one.name, folder, max_bytes))
    except BaseException:
        discard(staged)
        raise
    return staged


def too_many(settings: ApiSettings) -> InvalidInput:
    return InvalidInput(
        f"a complaint holds at most {settings.attachments_max_count} attachments",
        "too_many_attachments",
    )


def attach(
    session: Session,
    complaint: Complaint,
    entry: ComplaintHistory,
    staged: list[Staged],
    settings: ApiSettings,
) -> None:
    """Add the staged files' rows to the session, belonging to the audit row ``entry``."""
    assert complaint.id is not None
    held = session.exec(
        select(func.count())
        .select_from(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == complaint.id)
    ).one()
    if held + len(staged) > settings.attachments_max_count:
        raise too_many(settings)
    session.flush()  # the audit row's id
    for one in staged:
        session.add(
            ComplaintAttachment(
                complaint_id=complaint.id,
                history_id=entry.id,
                original_name=one.original_name,
                stored_name=one.stored_name,
                media_type=one.media_type,
                size=one.size,
                sha256=one.sha256,
                uploaded_by=entry.actor,
            )
        )


def commit_with_files(session: Session, staged: list[Staged], folder: Path) -> None:
    """Put the staged files in place and commit; on any failure neither stays."""
    kept: list[Path] = []
    try:
        for one in staged:
            kept.append(keep(one, folder))
        session.commit()
    except BaseException:
        session.rollback()
        for path in kept:
            path.unlink(missing_ok=True)
        discard(staged)
        raise


def upload(
    session: Session,
    *,
    ticket: str,
    uploads: list[Upload],
    principal: Principal,
    own_unit: str | None,
    settings: ApiSettings,
) -> list[ComplaintAttachment]:
    """Attach files to a complaint under follow-up or closed, with an audit row of their own."""
    if not uploads:
        raise InvalidInput("send at least one file", "no_attachment")
    complaint = locked_complaint(session, ticket)
    if principal.role is Role.unit and complaint.unit != own_unit:
        raise NotFound(f"no complaint with ticket {ticket} for your unit")
    if complaint.status not in OPEN_FOR_ATTACHMENTS:
        raise Conflict(
            f"a complaint that is {complaint.status} takes no attachments", "attachments_closed"
        )
    names = ", ".join(clean_name(one.name) for one in uploads)
    entry = record(session, complaint, principal, complaint.status, f"attachments: {names}")
    staged = attach_and_commit(session, complaint, entry, uploads, settings)
    return attachments_of(session, complaint, stored=[s.stored_name for s in staged])


def attach_and_commit(
    session: Session,
    complaint: Complaint,
    entry: ComplaintHistory,
    uploads: list[Upload],
    settings: ApiSettings,
) -> list[Staged]:
    """Check and stage the uploads, add their rows to the audit row ``entry`` and commit
    the transaction with the files in place: all of it, or nothing."""
    staged = stage_all(uploads, settings)
    try:
        attach(session, complaint, entry, staged, settings)
    except BaseException:
        discard(staged)
        raise
    commit_with_files(session, staged, settings.attachments_dir)
    return staged


def attachments_of(
    session: Session, complaint: Complaint, *, stored: list[str] | None = None
) -> list[ComplaintAttachment]:
    """The complaint's attachments, oldest first (only those stored as ``stored``, if given)."""
    query = select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
    if stored is not None:
        query = query.where(col(ComplaintAttachment.stored_name).in_(stored))
    return list(session.exec(query.order_by(col(ComplaintAttachment.id))).all())


def attachment_response(
    session: Session, complaint: Complaint, attachment_id: int, folder: Path
) -> FileResponse:
    """One attachment as a download: PDFs always as a file to save, images inline, never
    sniffed by the browser as anything else."""
    row = session.get(ComplaintAttachment, attachment_id)
    if row is None or row.complaint_id != complaint.id:
        raise NotFound(f"complaint {complaint.ticket} has no attachment {attachment_id}")
    path = stored_file(folder, row.stored_name)
    if path is None:
        raise NotFound(f"attachment {attachment_id} is not on this server", "no_attachment")
    media_type = row.media_type if row.media_type in EXTENSIONS else "application/octet-stream"
    image = media_type.startswith("image/")
    return FileResponse(
        path,
        media_type=media_type,
        filename=row.original_name,
        content_disposition_type="inline" if image else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
