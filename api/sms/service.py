"""Inbound SMS: complaints filed, ticket status answered, retransmissions recognised.

Tickets are issued here, not by an IVR node: ``<prefix><6-digit counter>``, the prefix
from ``LAPOR_API_SMS_TICKET_PREFIX`` (an id no IVR node uses). The counter is one row per
prefix, incremented by an UPDATE in the transaction that stores the complaint: the row
lock orders replicas, and a rolled-back complaint leaves no gap.

A gateway that got no answer, or a citizen who got no reply, sends the same SMS again.
The same sender and normalised text within ``dedup_minutes`` is that first complaint
again: the same ticket and the same reply, never a second complaint. Copies take turns
(an advisory lock per sender on PostgreSQL, the write lock on SQLite), and the unique key
(sender, text hash, time bucket) is the last line should two still race.

A complaint sent with no keyword (commands.py: enough words, filed under Lainnya) takes
this same path, with the same dedup, checks and limits; only its reply adds a hint.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import UniqueConstraint, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.complaints.models import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintCreate,
    create_complaint,
    find_complaint,
    get_complaint,
)
from api.core.clock import WorkCalendar, as_utc
from api.core.db import conflict_insert, is_postgres
from api.core.errors import Conflict, Unavailable
from api.core.numbers import national
from api.core.text import without_nul
from api.sms.commands import (
    NewComplaint,
    StatusQuery,
    StatusSmsSwitch,
    Unrecognised,
    normalised,
    parse_sms,
    reply,
)
from api.sms.opt_out import set_status_sms

COUNTER_DIGITS = 6
SmsKind = Literal[
    "received", "status", "not_found", "empty_complaint", "too_long", "help", "stopped", "started"
]
# pg_advisory_xact_lock(space, key): "SMS" in ASCII, apart from the event ingest's spaces.
_LOCK_SPACE = 0x534D53


class SmsTicketCounter(SQLModel, table=True):
    __tablename__ = "sms_ticket_counter"

    prefix: str = Field(primary_key=True, max_length=2)
    last: int = 0


class SmsIntake(SQLModel, table=True):
    """One row per complaint filed by SMS: its sender and text, to spot a retransmission."""

    __tablename__ = "sms_intake"
    __table_args__ = (UniqueConstraint("sender", "text_hash", "bucket", name="uq_sms_intake_key"),)

    id: int | None = Field(default=None, primary_key=True)
    sender: str = Field(max_length=32)
    text_hash: str = Field(max_length=64)
    # received_at // the dedup window: two copies racing in one window collide here.
    bucket: int
    ticket: str = Field(max_length=8, unique=True, index=True)
    received_at: datetime = Field(index=True)


@dataclass(frozen=True)
class InboundSms:
    sender: str
    text: str
    line: str
    received_at: datetime
    # The gateway said it carried a body, but none arrived (Asterisk drops long ones).
    body_lost: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", without_nul(self.text))


@dataclass(frozen=True)
class SmsRules:
    ticket_prefix: str
    dedup_minutes: int


@dataclass(frozen=True)
class SmsOutcome:
    """What the citizen is told, and what happened to their complaint if it was one."""

    kind: SmsKind
    reply: str
    ticket: str | None = None
    created: bool = False
    duplicate: bool = False


def handle_sms(
    session: Session, sms: InboundSms, *, rules: SmsRules, calendar: WorkCalendar
) -> SmsOutcome:
    """File or answer one SMS; a new complaint is committed before this returns."""
    if sms.body_lost:
        return SmsOutcome("too_long", reply("too_long"))
    command = parse_sms(sms.text)
    if isinstance(command, NewComplaint):
        return _file(session, sms, command, rules, calendar)
    if isinstance(command, StatusQuery):
        return _status(session, command.ticket)
    if isinstance(command, StatusSmsSwitch):
        set_status_sms(session, sms.sender, on=command.on, now=as_utc(sms.received_at))
        return (
            SmsOutcome("started", reply("started"))
            if command.on
            else SmsOutcome("stopped", reply("stopped"))
        )
    if isinstance(command, Unrecognised) and command.empty_complaint:
        return SmsOutcome("empty_complaint", reply("empty_complaint"))
    return SmsOutcome("help", reply("help"))


def _status(session: Session, ticket: str) -> SmsOutcome:
    complaint = find_complaint(session, ticket=ticket)
    if complaint is None:
        return SmsOutcome("not_found", reply("not_found", ticket=ticket), ticket=ticket)
    answer = reply("status", ticket=ticket, status=complaint.status.value)
    return SmsOutcome("status", answer, ticket=ticket)


def _received(session: Session, command: NewComplaint, ticket: str, *, created: bool) -> SmsOutcome:
    complaint = get_complaint(session, ticket=ticket)
    answer = reply("received", ticket=ticket, category=complaint.category.value)
    if command.without_keyword:
        answer += "\n" + reply("category_hint")
    return SmsOutcome("received", answer, ticket=ticket, created=created, duplicate=not created)


def _file(
    session: Session,
    sms: InboundSms,
    command: NewComplaint,
    rules: SmsRules,
    calendar: WorkCalendar,
) -> SmsOutcome:
    received_at = as_utc(sms.received_at)
    since = received_at - timedelta(minutes=rules.dedup_minutes)
    digest = hashlib.sha256(normalised(sms.text).encode()).hexdigest()
    # Stored and deduplicated under the national form; the reply goes to the sender as
    # the gateway wrote it.
    sender = national(sms.sender)
    _serialise(session, sender, rules.ticket_prefix)
    earlier = _earlier(session, sender, digest, since)
    if earlier is not None:
        return _received(session, command, earlier, created=False)
    ticket = next_api_ticket(session, rules.ticket_prefix)
    bucket = int(received_at.timestamp()) // (rules.dedup_minutes * 60)
    intake = SmsIntake(
        sender=sender, text_hash=digest, bucket=bucket, ticket=ticket, received_at=received_at
    )
    session.add(intake)
    try:
        session.flush()
    except IntegrityError:
        # A replica filed the same SMS between our look and our insert: that one counts.
        session.rollback()
        earlier = _earlier(session, sender, digest, since)
        if earlier is None:
            raise
        return _received(session, command, earlier, created=False)
    data = ComplaintCreate(
        ticket=ticket,
        category=ComplaintCategory(command.category),
        caller_number=sender,
        line=sms.line,
        uniqueid="sms-" + hashlib.sha256(f"{sender} {digest}".encode()).hexdigest()[:32],
        taken_at=received_at,
    )
    create_complaint(
        session, data=data, calendar=calendar, channel=ComplaintChannel.sms, text=command.text
    )
    return _received(session, command, ticket, created=True)


def _serialise(session: Session, sender: str, prefix: str) -> None:
    """Make concurrent copies of one sender's SMS take turns until commit.

    PostgreSQL: an advisory lock per sender. SQLite: take the write lock now, before the
    first read; a read snapshot upgraded to a write later would fail with "database is
    locked" instead of waiting its turn.
    """
    if is_postgres(session):
        key = zlib.crc32(sender.encode()) - 2**31
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": _LOCK_SPACE, "key": key}
        )
    else:
        _ensure_counter(session, prefix)


def _ensure_counter(session: Session, prefix: str) -> None:
    insert = conflict_insert(session, SmsTicketCounter)
    session.execute(insert.values(prefix=prefix, last=0).on_conflict_do_nothing())


def _earlier(session: Session, sender: str, digest: str, since: datetime) -> str | None:
    """The ticket of the same SMS from the same sender received since ``since``."""
    statement = (
        select(SmsIntake.ticket)
        .where(SmsIntake.sender == sender, SmsIntake.text_hash == digest)
        .where(col(SmsIntake.received_at) >= since)
        .order_by(col(SmsIntake.received_at))
    )
    return session.exec(statement).first()


def next_api_ticket(session: Session, prefix: str) -> str:
    """The next ticket the API issues under ``prefix`` (SMS complaints, and refused phone
    complaints re-filed, api/refused/service.py); the counter row stays locked until commit."""
    _ensure_counter(session, prefix)
    row = col(SmsTicketCounter.prefix) == prefix
    session.execute(update(SmsTicketCounter).where(row).values(last=SmsTicketCounter.last + 1))
    last = session.execute(select(SmsTicketCounter.last).where(row)).scalar_one()
    if last >= 10**COUNTER_DIGITS:
        raise Unavailable(f"SMS tickets with prefix {prefix} are used up; set a new prefix")
    ticket = f"{prefix}{last:0{COUNTER_DIGITS}d}"
    if find_complaint(session, ticket=ticket) is not None:
        raise Conflict(
            f"ticket {ticket} exists already: SMS ticket prefix {prefix} is an IVR node's id",
            "sms_ticket_prefix_clash",
        )
    return ticket
