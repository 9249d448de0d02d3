"""The ``report_delivery`` table: one row per day and channel, claimed before sending.

A channel's delivery moves pending/failed -> sending -> sent or failed. Taking it to
``sending`` is one conditional UPDATE, so of several replicas (or a CLI run) only one
sends; a ``sent`` row is never claimed again. A ``sending`` row whose sender died (no
update within the lease) may be claimed by another.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, or_, select

LEASE = timedelta(minutes=30)
ERROR_CHARS = 500


class Channel(StrEnum):
    email = "email"
    telegram = "telegram"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class ReportDelivery(SQLModel, table=True):
    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("day", "channel", name="uq_report_delivery_day_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    channel: str = Field(max_length=16)
    # The recipients (masked) or the chat id.
    target: str = Field(max_length=500)
    status: str = Field(max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=ERROR_CHARS)
    sent_at: datetime | None = None
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def claim(session: Session, *, day: date, channel: Channel, target: str) -> bool:
    """Make ``day``'s ``channel`` delivery ours to send; False if sent or being sent."""
    session.add(
        ReportDelivery(
            day=day,
            channel=channel,
            target=target[:500],
            status=DeliveryStatus.pending,
            updated_at=_now(),
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    now = _now()
    claimable = or_(
        col(ReportDelivery.status).in_([DeliveryStatus.pending, DeliveryStatus.failed]),
        (col(ReportDelivery.status) == DeliveryStatus.sending)
        & (col(ReportDelivery.updated_at) < now - LEASE),
    )
    taken = session.connection().execute(
        update(ReportDelivery)
        .where(col(ReportDelivery.day) == day, col(ReportDelivery.channel) == channel, claimable)
        .values(status=DeliveryStatus.sending, target=target[:500], updated_at=now)
    )
    session.commit()
    return bool(taken.rowcount)


def record_attempt(
    session: Session, *, day: date, channel: Channel, error: str | None, final: bool
) -> None:
    """Count an attempt: sent without ``error``; with one, failed if ``final`` (else the
    row stays ``sending``, its lease renewed, until the next attempt)."""
    now = _now()
    if error is None:
        values: dict[str, object] = {
            "status": DeliveryStatus.sent,
            "sent_at": now,
            "last_error": None,
        }
    else:
        status = DeliveryStatus.failed if final else DeliveryStatus.sending
        values = {"status": status, "last_error": error[:ERROR_CHARS]}
    session.connection().execute(
        update(ReportDelivery)
        .where(col(ReportDelivery.day) == day, col(ReportDelivery.channel) == channel)
        .values(attempts=col(ReportDelivery.attempts) + 1, updated_at=now, **values)
    )
    session.commit()


def of_day(session: Session, day: date) -> list[ReportDelivery]:
    query = select(ReportDelivery).where(ReportDelivery.day == day)
    return list(session.exec(query.order_by(col(ReportDelivery.channel))).all())


def undelivered_reports(session: Session, *, since: datetime) -> list[ReportDelivery]:
    """Deliveries that gave up (``failed``) and were last tried since ``since``."""
    return list(
        session.exec(
            select(ReportDelivery).where(
                ReportDelivery.status == DeliveryStatus.failed,
                col(ReportDelivery.updated_at) >= since,
            )
        ).all()
    )
