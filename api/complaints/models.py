"""Complaints taken by the IVR and callback requests: models and services.

The IVR delivers each complaint (keyed by its ticket) and each callback request (keyed
by its request id) from a durable outbox, so it may send the same one twice; creating is
idempotent on that key and returns the stored row the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, field_validator
from sqlalchemy import Text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

import asterisk_values as values
from api.complaints.workflow import ComplaintStatus, deadline
from api.core.auth import Role
from api.core.clock import WorkCalendar, as_utc, utc_now
from api.core.errors import Conflict, NotFound
from api.core.numbers import national
from ivr.redact import mask_number

TICKET_PATTERN = values.TICKET_PATTERN
# A phone number (asterisk_values' kind: 3 to 20 digits, an optional leading +); or
# empty, for a caller who withheld it. Pydantic matches patterns with Rust's regex, where
# $ is the end of the text (Python's re would let "0812\n" through).
NUMBER_PATTERN = rf"^({values.PHONE_NUMBER_PATTERN[1:-1]})?$"
# What Asterisk and SIP put in a caller id or dnid when there is no number; stored as "".
NO_NUMBER = frozenset({"unknown", "anonymous", "restricted", "private", "unavailable"})


class ComplaintCategory(StrEnum):
    infrastruktur = "infrastruktur"
    kependudukan = "kependudukan"
    pelayanan_publik = "pelayanan_publik"
    lainnya = "lainnya"
    darurat = "darurat"  # an emergency: filed without a recording, queued first


class ComplaintChannel(StrEnum):
    phone = "phone"
    sms = "sms"


class ComplaintBase(SQLModel):
    ticket: str = Field(max_length=8)
    category: ComplaintCategory
    caller_number: str = Field(max_length=32)
    line: str = Field(max_length=32)
    recording_path: str | None = Field(default=None, max_length=500)
    uniqueid: str = Field(max_length=64)
    # When the IVR took the complaint; delivery may be later (outbox).
    taken_at: datetime


# The instants a client may send (times taken, search bounds): far beyond any real one,
# far enough from datetime's limits (years 1 and 9999) that adding days never overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def client_instant(value: datetime) -> datetime:
    """A time from a client, in UTC; ValueError outside EARLIEST..LATEST."""
    at = as_utc(value)
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"times must be from {EARLIEST.year} to {LATEST.year - 1}")
    return at


# A client's time as a validated field or query parameter (in UTC, in range, else 422).
ClientInstant = Annotated[datetime, AfterValidator(client_instant)]


# SQLModel's Field drops ``regex`` (Pydantic 2 calls it ``pattern``): these enforce it.
Ticket = Annotated[str, StringConstraints(max_length=8, pattern=TICKET_PATTERN)]
PhoneNumber = Annotated[str, StringConstraints(max_length=21, pattern=NUMBER_PATTERN)]


class ComplaintCreate(ComplaintBase):
    ticket: Ticket
    # The caller's number and the line they called, as the IVR and SMS paths send them.
    caller_number: PhoneNumber
    line: PhoneNumber

    taken_at: ClientInstant

    @field_validator("caller_number", "line", mode="before")
    @classmethod
    def _withheld_is_empty(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in NO_NUMBER:
            return ""
        return value

    @field_validator("caller_number")
    @classmethod
    def _one_citizen_one_number(cls, value: str) -> str:
        return national(value)

    @field_validator("recording_path")
    @classmethod
    def _no_parent_folders(cls, value: str | None) -> str | None:
        if value is not None and ".." in value.split("/"):
            raise ValueError("recording_path must not climb out of its folder")
        return value


class Complaint(ComplaintBase, table=True):
    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    ticket: str = Field(max_length=8, unique=True, index=True)
    channel: ComplaintChannel = ComplaintChannel.phone
    # The citizen's own words (an SMS body); phone complaints have a recording instead.
    text: str | None = Field(default=None, sa_type=Text)
    # Filled in by the officer during or after the call.
    summary: str | None = Field(default=None, max_length=500)
    location: str | None = Field(default=None, max_length=200)
    status: ComplaintStatus = Field(default=ComplaintStatus.diterima, index=True)
    # The city unit ordered to follow it up (status ditindaklanjuti onwards).
    unit: str | None = Field(default=None, max_length=100, index=True)
    # The original's ticket, for a complaint rejected as a duplicate.
    duplicate_of: str | None = Field(default=None, max_length=8)
    # When it went into the mayor's report: the follow-up deadline counts from here.
    reported_at: datetime | None = None
    # When the current stage is due (LAPOR! working days); None once nothing is due.
    due_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class ComplaintHistory(SQLModel, table=True):
    """The audit trail: every status change and edit, who made it and when."""

    __tablename__ = "complaint_history"

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    at: datetime = Field(default_factory=utc_now)
    actor: str = Field(max_length=100)
    role: str = Field(max_length=20)
    from_status: ComplaintStatus
    to_status: ComplaintStatus
    note: str = Field(default="", sa_type=Text)


class ComplaintPublic(ComplaintBase):
    id: int
    channel: ComplaintChannel
    text: str | None
    summary: str | None
    location: str | None
    status: ComplaintStatus
    unit: str | None
    duplicate_of: str | None
    reported_at: datetime | None
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime


def create_complaint(
    session: Session,
    *,
    data: ComplaintCreate,
    calendar: WorkCalendar,
    channel: ComplaintChannel = ComplaintChannel.phone,
    text: str | None = None,
) -> tuple[Complaint, bool]:
    """Store a complaint; returns (complaint, created). A known ticket returns the stored one."""
    existing = find_complaint(session, ticket=data.ticket)
    if existing is not None:
        return _same_or_conflict(existing, data), False
    complaint = Complaint.model_validate(
        data,
        update={
            "channel": channel,
            "text": text,
            "due_at": _due(ComplaintStatus.diterima, data.taken_at, None, calendar),
        },
    )
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


def _due(
    status: ComplaintStatus,
    taken_at: datetime,
    reported_at: datetime | None,
    calendar: WorkCalendar,
) -> datetime | None:
    due = deadline(status, as_utc(taken_at), as_utc(reported_at) if reported_at else None, calendar)
    return due.astimezone(UTC) if due else None


def due_at(
    status: ComplaintStatus, complaint: Complaint, calendar: WorkCalendar
) -> datetime | None:
    """When a complaint in ``status`` is due (UTC), or None once nothing is due."""
    return _due(status, complaint.taken_at, complaint.reported_at, calendar)


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


# Roles that phone citizens back, or run the system, see the full number.
SEES_NUMBERS = frozenset({Role.ivr, Role.agent, Role.supervisor, Role.admin})


def public(complaint: Complaint, role: Role) -> ComplaintPublic:
    view = ComplaintPublic.model_validate(
        complaint,
        update={"overdue": complaint.due_at is not None and as_utc(complaint.due_at) < utc_now()},
    )
    if role not in SEES_NUMBERS:
        view.caller_number = mask_number(view.caller_number)
    return view
