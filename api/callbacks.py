"""Callback requests: callers who chose to be called back instead of waiting.

The IVR delivers each request from a durable outbox, keyed by a request id it chose, so
creating is idempotent on that key.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.complaints import as_utc, utc_now


class CallbackBase(SQLModel):
    # Chosen by the IVR (a UUID) so a redelivered request is recognised.
    request_id: str = Field(max_length=64, min_length=8)
    ticket: str | None = Field(default=None, max_length=8)
    number: str = Field(max_length=32)
    line: str = Field(default="", max_length=32)
    uniqueid: str = Field(max_length=64)
    # When the caller first entered the queue: the callback list keeps that order.
    queue_entered_at: datetime
    requested_at: datetime


class CallbackCreate(CallbackBase):
    _aware = field_validator("queue_entered_at", "requested_at")(as_utc)


class CallbackRequest(CallbackBase, table=True):
    __tablename__ = "callback_request"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utc_now)


class CallbackPublic(CallbackBase):
    id: int
    created_at: datetime


def create_callback(session: Session, *, data: CallbackCreate) -> tuple[CallbackRequest, bool]:
    """Store a callback request; a known request id returns the stored one."""
    query = select(CallbackRequest).where(CallbackRequest.request_id == data.request_id)
    existing = session.exec(query).first()
    if existing is not None:
        return existing, False
    callback = CallbackRequest.model_validate(data)
    session.add(callback)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.exec(query).one(), False
    session.refresh(callback)
    return callback, True


def list_callbacks(
    session: Session, *, number: str | None = None, limit: int = 100
) -> list[CallbackRequest]:
    query = select(CallbackRequest).order_by(col(CallbackRequest.queue_entered_at)).limit(limit)
    if number is not None:
        query = query.where(CallbackRequest.number == number)
    return list(session.exec(query).all())
