"""Which browser phones have a password in AstDB, so one whose session ended is revoked.

A row per WebRTC endpoint: who it was issued to, when, and the session token it belongs
to. Never the password. Issuing writes the row before AstDB, so a password Asterisk holds
always has a row; the row goes once AstDB's copy is deleted, and stays (pending) while
Asterisk can't be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.core.auth import ApiToken
from api.core.clock import as_utc

TZ_DATETIME = sa.DateTime(timezone=True)


class BrowserPhoneCredential(SQLModel, table=True):
    __tablename__ = "browser_phone_credential"

    id: int | None = Field(default=None, primary_key=True)
    endpoint: str = Field(max_length=80, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    token_id: int = Field(foreign_key="api_token.id", index=True)
    issued_at: datetime = Field(sa_type=TZ_DATETIME)


@dataclass(frozen=True)
class Issued:
    """One credential as read: enough to revoke it and to forget exactly that issue."""

    endpoint: str
    issued_at: datetime


def record_issued(
    session: Session, *, endpoint: str, user_id: int, token_id: int, at: datetime
) -> None:
    """Note that ``endpoint`` gets a password for the session ``token_id`` (replacing the
    previous one's row: AstDB holds one password per endpoint)."""
    for _ in range(2):  # a concurrent first issue may insert between our read and write
        row = session.exec(
            select(BrowserPhoneCredential).where(BrowserPhoneCredential.endpoint == endpoint)
        ).first()
        row = row or BrowserPhoneCredential(endpoint=endpoint, user_id=0, token_id=0, issued_at=at)
        row.user_id, row.token_id, row.issued_at = user_id, token_id, at
        session.add(row)
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
    raise RuntimeError(f"could not record the browser phone credential of {endpoint}")


def forget(session: Session, endpoint: str, issued_at: datetime | None = None) -> None:
    """Drop the row of ``endpoint`` (only if still the issue of ``issued_at`` when given:
    a password issued since is not ours to forget)."""
    statement = delete(BrowserPhoneCredential).where(
        col(BrowserPhoneCredential.endpoint) == endpoint
    )
    if issued_at is not None:
        statement = statement.where(col(BrowserPhoneCredential.issued_at) == issued_at)
    session.execute(statement)
    session.commit()


def orphaned(session: Session, now: datetime) -> list[Issued]:
    """Credentials whose session token is no longer live (revoked, expired or gone)."""
    rows = session.exec(
        select(BrowserPhoneCredential, ApiToken)
        .join(ApiToken, col(ApiToken.id) == col(BrowserPhoneCredential.token_id), isouter=True)
        .order_by(col(BrowserPhoneCredential.id))
    ).all()
    return [
        Issued(credential.endpoint, credential.issued_at)
        for credential, token in rows
        if token is None or not _live(token, now)
    ]


def _live(token: ApiToken, now: datetime) -> bool:
    expired = token.expires_at is not None and as_utc(token.expires_at) <= now
    return token.revoked_at is None and not expired
