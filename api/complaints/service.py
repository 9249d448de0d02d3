"""Changing a complaint: status moves along the workflow, and officers' edits.

Every change writes a ComplaintHistory row in the same transaction, so the audit trail
can't miss one. The row is locked (SELECT ... FOR UPDATE on PostgreSQL) while it changes,
so two people moving the same complaint at once can't both win from the same status.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from api.audit.models import RecordingKind
from api.audit.service import log_access
from api.complaints.models import (
    TICKET_PATTERN,
    Complaint,
    ComplaintCategory,
    ComplaintHistory,
    due_at,
    find_complaint,
    get_complaint,
)
from api.complaints.workflow import ComplaintStatus, TransitionRequest, check_transition
from api.core.auth import Principal, Role
from api.core.city_units import check_unit
from api.core.clock import WorkCalendar, utc_now
from api.core.errors import Forbidden, InvalidInput, NotFound
from api.core.stored_files import stored_file
from api.people.users import User
from api.sms.status_messages import enqueue as enqueue_status_sms

UNIT_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,99}$"


class StatusChange(BaseModel):
    to: ComplaintStatus
    note: str = Field(default="", max_length=4000)
    unit: str | None = Field(default=None, pattern=UNIT_PATTERN)
    duplicate_of: str | None = Field(default=None, pattern=TICKET_PATTERN)


class ComplaintEdit(BaseModel):
    """What an officer may correct or add during or after the call."""

    category: ComplaintCategory | None = None
    location: str | None = Field(default=None, min_length=1, max_length=200)
    summary: str | None = Field(default=None, min_length=1, max_length=500)
    # The officer's own note: kept in the audit trail with the edit, not on the complaint.
    note: str | None = Field(default=None, min_length=1, max_length=2000)


def unit_scope(session: Session, principal: Principal) -> str | None:
    """A unit user's own unit (they see nothing else); None for every other role."""
    if principal.role is not Role.unit:
        return None
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None or not user.unit:
        raise Forbidden("this unit account has no unit; an admin must set one")
    return user.unit


def visible_complaint(session: Session, ticket: str, principal: Principal) -> Complaint:
    """The complaint ``ticket`` if ``principal`` may see it (a unit: only its own)."""
    complaint = get_complaint(session, ticket=ticket)
    scope = unit_scope(session, principal)
    if scope is not None and complaint.unit != scope:
        raise NotFound(f"no complaint with ticket {ticket} for your unit")
    return complaint


def history_of(session: Session, complaint: Complaint) -> list[ComplaintHistory]:
    """The complaint's audit trail, oldest first."""
    return list(
        session.exec(
            select(ComplaintHistory)
            .where(ComplaintHistory.complaint_id == complaint.id)
            .order_by(col(ComplaintHistory.id))
        ).all()
    )


def locked_complaint(session: Session, ticket: str) -> Complaint:
    """The complaint, locked until the transaction ends (NotFound if there is none)."""
    complaint = session.exec(
        select(Complaint).where(Complaint.ticket == ticket).with_for_update()
    ).first()
    if complaint is None:
        raise NotFound(f"no complaint with ticket {ticket}")
    return complaint


def record(
    session: Session, complaint: Complaint, principal: Principal, to: ComplaintStatus, note: str
) -> ComplaintHistory:
    """Add the complaint's audit row: who moved it from its status to ``to``, and why."""
    assert complaint.id is not None
    entry = ComplaintHistory(
        complaint_id=complaint.id,
        actor=principal.name,
        role=principal.role.value,
        from_status=complaint.status,
        to_status=to,
        note=note,
    )
    session.add(entry)
    return entry


def change_status(
    session: Session,
    *,
    ticket: str,
    change: StatusChange,
    principal: Principal,
    calendar: WorkCalendar,
    own_unit: str | None = None,
    now: datetime | None = None,
    finish: Callable[[Complaint, ComplaintHistory], None] | None = None,
) -> Complaint:
    """Move a complaint along the workflow (409 if illegal), keeping the audit trail.

    ``finish``, if given, commits instead: it may add to the transaction first (files on
    the audit row) or raise, which leaves the complaint as it was.
    """
    now = now or utc_now()
    complaint = locked_complaint(session, ticket)
    if principal.role is Role.unit and complaint.unit != own_unit:
        raise NotFound(f"no complaint with ticket {ticket} for your unit")
    request = TransitionRequest(
        to=change.to, note=change.note, unit=change.unit, duplicate_of=change.duplicate_of
    )
    check_transition(complaint.status, request, principal.role)
    if change.to is ComplaintStatus.ditindaklanjuti and change.unit is not None:
        check_unit(change.unit)
    if change.duplicate_of is not None:
        if (
            change.duplicate_of == ticket
            or find_complaint(session, ticket=change.duplicate_of) is None
        ):
            raise InvalidInput(
                f"duplicate_of {change.duplicate_of} is not another known complaint",
                "unknown_original",
            )
        complaint.duplicate_of = change.duplicate_of
    entry = record(session, complaint, principal, change.to, change.note)
    if change.to is ComplaintStatus.dilaporkan:
        complaint.reported_at = now
    if change.to is ComplaintStatus.ditindaklanjuti:
        complaint.unit = change.unit
    complaint.status = change.to
    complaint.due_at = due_at(change.to, complaint, calendar)
    complaint.updated_at = now
    session.add(complaint)
    # The citizen's SMS about it, committed with the change or not at all.
    enqueue_status_sms(session, complaint, entry, now)
    if finish is None:
        session.commit()
    else:
        finish(complaint, entry)
    session.refresh(complaint)
    return complaint


def edit_complaint(
    session: Session, *, ticket: str, edit: ComplaintEdit, principal: Principal
) -> Complaint:
    """Apply an officer's corrections; the trail notes each changed field."""
    complaint = locked_complaint(session, ticket)
    changes = edit.model_dump(exclude_unset=True, exclude_none=True)
    note = changes.pop("note", None)
    if not changes and note is None:
        raise InvalidInput("nothing to change: give category, location, summary or a note")
    notes = [
        f"{field}: {getattr(complaint, field) or '-'} -> {value}"
        for field, value in changes.items()
        if getattr(complaint, field) != value
    ]
    if note is not None:
        notes.append(f"note: {note}")
    if notes:
        record(session, complaint, principal, complaint.status, "; ".join(notes))
        for field, value in changes.items():
            setattr(complaint, field, value)
        complaint.updated_at = utc_now()
        session.add(complaint)
        session.commit()
        session.refresh(complaint)
    return complaint


def recording_response(complaint: Complaint, folder: Path) -> FileResponse:
    """The citizen's recorded complaint as a WAV download that supports HTTP Range (seeking);
    NotFound when there is none on this server."""
    ticket = complaint.ticket
    if not complaint.recording_path:
        raise NotFound(f"complaint {ticket} has no recording", "no_recording")
    path = stored_file(folder, complaint.recording_path)
    if path is None:
        raise NotFound(f"the recording of complaint {ticket} is not on this server", "no_recording")
    return FileResponse(path, media_type="audio/wav", filename=f"{ticket}.wav")


def serve_recording(
    session: Session, request: Request, principal: Principal, complaint: Complaint, folder: Path
) -> FileResponse:
    """``recording_response``, its playback or download logged (once per playback)."""
    served = recording_response(complaint, folder)
    log_access(
        session,
        principal,
        kind=RecordingKind.complaint,
        subject=complaint.ticket,
        file=Path(served.path).name,
        route=request.url.path,
        range_header=request.headers.get("range"),
    )
    return served
