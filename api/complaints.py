"""Complaints taken by the IVR and callback requests: models and services.

The IVR delivers each complaint (keyed by its ticket) and each callback request (keyed
by its request id) from a durable outbox, so it may send the same one twice; creating is
idempotent on that key and returns the stored row the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.errors import Conflict, NotFound

TICKET_PATTERN = r"^[0-9]{1,8}$"
NUMBER_PATTERN = r"^\+?[0-9]{0,32}$"


class ComplaintCategory(StrEnum):
    infrastruktur = "infrastruktur"
    kependudukan = "kependudukan"
    pelayanan_publik = "pelayanan_publik"
    lainnya = "lainnya"


class ComplaintStatus(StrEnum):
    received = "received"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"


def utc_now() -> datetime:
    return datetime.now(UTC)


class ComplaintBase(SQLModel):
    ticket: str = Field(max_length=8, regex=TICKET_PATTERN)
    category: ComplaintCategory
    caller_number: str = Field(max_length=32)
    line: str = Field(max_length=32)
    recording_path: str | None = Field(default=None, max_length=500)
    uniqueid: str = Field(max_length=64)
    # When the IVR took the complaint; delivery may be later (outbox).
    taken_at: datetime


def as_utc(value: datetime) -> datetime:
    """Times the IVR sends without an offset are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ComplaintCreate(ComplaintBase):
    _aware = field_validator("taken_at")(as_utc)


class Complaint(ComplaintBase, table=True):
    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    ticket: str = Field(max_length=8, unique=True, index=True)
    status: ComplaintStatus = ComplaintStatus.received
    created_at: datetime = Field(default_factory=utc_now)


class ComplaintPublic(ComplaintBase):
    id: int
    status: ComplaintStatus
    created_at: datetime


def create_complaint(session: Session, *, data: ComplaintCreate) -> tuple[Complaint, bool]:
    """Store a complaint; returns (complaint, created). A known ticket returns the stored one."""
    existing = find_complaint(session, ticket=data.ticket)
    if existing is not None:
        return _same_or_conflict(existing, data), False
    complaint = Complaint.model_validate(data)
    session.add(complaint)
    try:
        session.commit()
    except IntegrityError:
        # Another replica stored the same ticket between our read and our insert.
        session.rollback()
        existing = get_complaint(session, ticket=data.ticket)
        return _same_or_conflict(existing, data), False
    session.refresh(complaint)
    return complaint, True


def _same_or_conflict(existing: Complaint, data: ComplaintCreate) -> Complaint:
    if existing.uniqueid != data.uniqueid or existing.category != data.category:
        raise Conflict(f"ticket {data.ticket} already belongs to another complaint")
    return existing


def find_complaint(session: Session, *, ticket: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.ticket == ticket)).first()


def get_complaint(session: Session, *, ticket: str) -> Complaint:
    complaint = find_complaint(session, ticket=ticket)
    if complaint is None:
        raise NotFound(f"no complaint with ticket {ticket}")
    return complaint


def list_complaints(
    session: Session, *, caller_number: str | None = None, limit: int = 100
) -> list[Complaint]:
    query = select(Complaint).order_by(col(Complaint.id).desc()).limit(limit)
    if caller_number is not None:
        query = query.where(Complaint.caller_number == caller_number)
    return list(session.exec(query).all())
