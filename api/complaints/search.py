"""Finding complaints: filters, text search and pagination, and the overdue list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.complaints.models import Complaint, ComplaintCategory, ComplaintChannel
from api.complaints.workflow import ComplaintStatus
from api.core.clock import as_utc
from api.core.numbers import national

MAX_PAGE = 500


class ComplaintFilter(BaseModel):
    """Every field narrows the list; unset fields don't."""

    status: ComplaintStatus | None = None
    category: ComplaintCategory | None = None
    channel: ComplaintChannel | None = None
    unit: str | None = Field(default=None, max_length=100)
    # Taken at or after / before these instants.
    taken_from: datetime | None = None
    taken_to: datetime | None = None
    caller: str | None = Field(default=None, pattern=r"^\+?[0-9]{1,32}$")
    # Case-insensitive text in the ticket, the citizen's words, summary or location.
    text: str | None = Field(default=None, min_length=1, max_length=200)

    _aware = field_validator("taken_from", "taken_to")(
        lambda value: as_utc(value) if value is not None else None
    )


class Page(BaseModel):
    total: int
    offset: int
    limit: int


def _where(query: SelectOfScalar[Complaint], f: ComplaintFilter) -> SelectOfScalar[Complaint]:
    if f.status is not None:
        query = query.where(Complaint.status == f.status)
    if f.category is not None:
        query = query.where(Complaint.category == f.category)
    if f.channel is not None:
        query = query.where(Complaint.channel == f.channel)
    if f.unit is not None:
        query = query.where(Complaint.unit == f.unit)
    if f.taken_from is not None:
        query = query.where(col(Complaint.taken_at) >= f.taken_from)
    if f.taken_to is not None:
        query = query.where(col(Complaint.taken_at) < f.taken_to)
    if f.caller is not None:
        query = query.where(Complaint.caller_number == national(f.caller))
    if f.text is not None:
        # LIKE's own wildcards in the search text are matched literally.
        escaped = f.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (
                        col(Complaint.ticket),
                        col(Complaint.text),
                        col(Complaint.summary),
                        col(Complaint.location),
                    )
                )
            )
        )
    return query


def search(
    session: Session, f: ComplaintFilter, *, offset: int = 0, limit: int = 50
) -> tuple[list[Complaint], Page]:
    """One page of matching complaints, newest first, and the total that match."""
    matching = _where(select(Complaint), f).subquery()
    total = session.exec(select(func.count()).select_from(matching)).one()
    rows = session.exec(
        _where(select(Complaint), f)
        .order_by(col(Complaint.taken_at).desc(), col(Complaint.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), Page(total=total, offset=offset, limit=limit)


def overdue(
    session: Session, now: datetime, *, unit: str | None = None, limit: int = MAX_PAGE
) -> list[Complaint]:
    """Complaints whose current stage is past due, the longest overdue first."""
    query = select(Complaint).where(col(Complaint.due_at) < now)
    if unit is not None:
        query = query.where(Complaint.unit == unit)
    return list(session.exec(query.order_by(col(Complaint.due_at)).limit(limit)).all())


def overdue_by_status(
    session: Session, f: ComplaintFilter, now: datetime
) -> dict[ComplaintStatus, int]:
    """How many of the complaints ``f`` matches are past due, per status."""
    query = _where(select(Complaint), f).where(col(Complaint.due_at) < now).subquery()
    rows = session.exec(select(query.c.status, func.count()).group_by(query.c.status)).all()
    return {ComplaintStatus(status): count for status, count in rows}
