"""Complaints the API refused, kept for a supervisor instead of being set aside unseen.

The IVR holds every complaint in its durable outbox until the API takes it. If the API
refuses one for good (409: its ticket already belongs to another call; 422: it does not
validate), nothing a retry can do will help, and before this the IVR moved it to a local
folder no officer ever looks at. Now the IVR posts it here with the API's answer
(``POST /complaints/refused``, idempotent on ticket and call), and it stays visible:
listed at ``GET /complaints/refused`` and counted in ``/stats/live`` until a supervisor
re-files it. Re-filing gives it a fresh ticket from the API's own counter (the SMS
prefix's, which no IVR node uses), keeps the citizen's recording and number, and tells
the citizen the new ticket: by a callback request on the officers' list (default), or
by SMS through the configured gateway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from pydantic import Field as PydanticField
from sqlalchemy import UniqueConstraint, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.callbacks.service import CallbackCreate, create_callback
from api.complaints.models import (
    ComplaintCategory,
    ComplaintCreate,
    create_complaint,
)
from api.complaints.service import record
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Principal
from api.core.clock import WorkCalendar, as_utc, utc_now
from api.core.errors import Conflict, InvalidInput, NotFound
from api.core.text import without_nul
from api.sms.service import next_api_ticket

TZ_DATETIME = sa.DateTime(timezone=True)
# Shown in /stats/live: the oldest pending ones, up to this many.
LIVE_LIST = 20


class RefusedComplaint(SQLModel, table=True):
    """A complaint the API refused, as the IVR held it, with the API's answer."""

    __tablename__ = "refused_complaint"
    __table_args__ = (UniqueConstraint("ticket", "uniqueid", name="uq_refused_complaint_call"),)

    id: int | None = Field(default=None, primary_key=True)
    # What the IVR sent (cut to the column; the full payload is in ``payload``).
    ticket: str = Field(max_length=32, index=True)
    uniqueid: str = Field(max_length=64)
    category: str | None = Field(default=None, max_length=32)
    caller_number: str | None = Field(default=None, max_length=32)
    line: str | None = Field(default=None, max_length=32)
    recording_path: str | None = Field(default=None, max_length=500)
    taken_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    # The API's answer when it refused the complaint.
    status_code: int | None = None
    reason: str = Field(default="", sa_type=sa.Text)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    received_at: datetime = Field(sa_type=TZ_DATETIME, index=True)
    # Once re-filed: the complaint's new ticket, when and by whom, and how the citizen
    # was told (callback, sms, sms_failed, none).
    refiled_ticket: str | None = Field(default=None, max_length=8)
    refiled_at: datetime | None = Field(default=None, sa_type=TZ_DATETIME)
    refiled_by: str | None = Field(default=None, max_length=100)
    notified: str | None = Field(default=None, max_length=16)


class RefusedIn(BaseModel):
    """What the IVR posts: the complaint as it held it and the API's answer."""

    complaint: dict[str, Any] = PydanticField(
        description="The complaint exactly as the IVR sent it to POST /complaints."
    )
    status_code: int | None = PydanticField(default=None, ge=100, le=599)
    reason: str = PydanticField(default="", max_length=4000)


class RefusedPublic(BaseModel):
    id: int
    ticket: str
    uniqueid: str
    category: str | None
    caller_number: str | None
    line: str | None
    recording_path: str | None
    taken_at: datetime | None
    status_code: int | None
    reason: str
    received_at: datetime
    refiled_ticket: str | None
    refiled_at: datetime | None
    refiled_by: str | None
    notified: str | None


class RefileRequest(BaseModel):
    category: ComplaintCategory | None = PydanticField(
        default=None, description="Needed only if the held complaint has no valid category."
    )
    notify: str = PydanticField(
        default="callback",
        pattern="^(callback|sms|none)$",
        description="How the citizen learns the new ticket: a callback request on the"
        " officers' list, an SMS through the gateway, or not at all.",
    )
    note: str = PydanticField(default="", max_length=4000)


def public(row: RefusedComplaint) -> RefusedPublic:
    values = {name: getattr(row, name) for name in RefusedPublic.model_fields}
    for name in ("taken_at", "received_at", "refiled_at"):
        if values[name] is not None:
            values[name] = as_utc(values[name])
    return RefusedPublic.model_validate(values)


def _text(payload: dict[str, Any], key: str, width: int) -> str | None:
    value = payload.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    return without_nul(str(value))[:width]


def _taken_at(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("taken_at")
    try:
        return as_utc(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def hold(session: Session, body: RefusedIn) -> tuple[RefusedComplaint, bool]:
    """Keep a refused complaint; the same ticket and call again returns the kept one."""
    payload = body.complaint
    ticket = _text(payload, "ticket", 32) or ""
    uniqueid = _text(payload, "uniqueid", 64) or ""
    existing = _find(session, ticket, uniqueid)
    if existing is not None:
        return existing, False
    row = RefusedComplaint(
        ticket=ticket,
        uniqueid=uniqueid,
        category=_text(payload, "category", 32),
        caller_number=_text(payload, "caller_number", 32),
        line=_text(payload, "line", 32),
        recording_path=_text(payload, "recording_path", 500),
        taken_at=_taken_at(payload),
        status_code=body.status_code,
        reason=without_nul(body.reason),
        payload=payload,
        received_at=utc_now(),
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        found = _find(session, ticket, uniqueid)
        if found is None:
            raise
        return found, False
    session.refresh(row)
    return row, True


def _find(session: Session, ticket: str, uniqueid: str) -> RefusedComplaint | None:
    return session.exec(
        select(RefusedComplaint).where(
            RefusedComplaint.ticket == ticket, RefusedComplaint.uniqueid == uniqueid
        )
    ).first()


def _pending() -> Any:
    return col(RefusedComplaint.refiled_ticket).is_(None)


def pending_count(session: Session) -> int:
    return int(session.exec(select(func.count()).where(_pending())).one())


def listing(
    session: Session, *, include_refiled: bool = False, limit: int = 100
) -> list[RefusedComplaint]:
    """Refused complaints, oldest first; by default only those not re-filed yet."""
    query = select(RefusedComplaint)
    if not include_refiled:
        query = query.where(_pending())
    query = query.order_by(col(RefusedComplaint.received_at), col(RefusedComplaint.id))
    return list(session.exec(query.limit(limit)).all())


def get(session: Session, refused_id: int) -> RefusedComplaint:
    row = session.get(RefusedComplaint, refused_id)
    if row is None:
        raise NotFound(f"no refused complaint {refused_id}")
    return row


def refile(
    session: Session,
    refused_id: int,
    request: RefileRequest,
    *,
    principal: Principal,
    ticket_prefix: str,
    calendar: WorkCalendar,
) -> tuple[RefusedComplaint, str]:
    """File the held complaint under a fresh API ticket; returns (row, new ticket).

    The held row is marked in the transaction that stores the new complaint, by a
    conditional UPDATE, so two supervisors re-filing at once make one complaint.
    """
    row = get(session, refused_id)
    if row.refiled_ticket is not None:
        raise Conflict(f"already re-filed as ticket {row.refiled_ticket}", "already_refiled")
    category = request.category or _category(row.category)
    if category is None:
        raise InvalidInput(
            f"the held complaint's category {row.category!r} is not one of ours: give one",
            "category_needed",
        )
    ticket = next_api_ticket(session, ticket_prefix)
    now = utc_now()
    marked = session.connection().execute(
        update(RefusedComplaint)
        .where(col(RefusedComplaint.id) == refused_id, _pending())
        .values(refiled_ticket=ticket, refiled_at=now, refiled_by=principal.name[:100])
    )
    if marked.rowcount != 1:
        session.rollback()
        current = get(session, refused_id)
        raise Conflict(f"already re-filed as ticket {current.refiled_ticket}", "already_refiled")
    data = ComplaintCreate(
        ticket=ticket,
        category=category,
        caller_number=row.caller_number or "",
        line=row.line or "",
        recording_path=_safe_path(row.recording_path),
        uniqueid=row.uniqueid or f"refused-{refused_id}",
        taken_at=row.taken_at or row.received_at,
    )
    complaint, _ = create_complaint(session, data=data, calendar=calendar)
    note = (
        f"Re-filed from refused complaint {refused_id} (IVR ticket {row.ticket}, refused:"
        f" {row.status_code} {row.reason})"
    )
    if request.note:
        note += f". {request.note}"
    record(session, complaint, principal, ComplaintStatus.diterima, note)  # a new one: diterima
    session.commit()
    session.refresh(row)
    return row, ticket


def _category(value: str | None) -> ComplaintCategory | None:
    try:
        return ComplaintCategory(value) if value else None
    except ValueError:
        return None


def _safe_path(path: str | None) -> str | None:
    """The recording path, unless it climbs out of its folder (the complaint refuses it)."""
    return None if path is None or ".." in path.split("/") else path


def ask_callback(session: Session, row: RefusedComplaint) -> None:
    """A callback request on the officers' list, so someone tells the citizen the ticket."""
    if not row.caller_number or row.refiled_ticket is None:
        return
    taken = as_utc(row.taken_at) if row.taken_at else as_utc(row.received_at)
    create_callback(
        session,
        data=CallbackCreate(
            request_id=f"refiled-{row.id}",
            ticket=row.refiled_ticket,
            number=row.caller_number,
            line=row.line or "",
            uniqueid=row.uniqueid or f"refused-{row.id}",
            queue_entered_at=taken,
            requested_at=utc_now(),
        ),
    )


def mark_notified(session: Session, row: RefusedComplaint, how: str) -> None:
    session.connection().execute(
        update(RefusedComplaint).where(col(RefusedComplaint.id) == row.id).values(notified=how)
    )
    session.commit()
    session.refresh(row)
