"""Roles and bearer tokens. Every route except health declares the roles it allows.

Tokens are opaque random strings; only their SHA-256 is stored, so a database leak
reveals no usable token. People get short-lived tokens from ``POST /auth/login``; service
tokens (roles ``ivr``, ``collector``, ``gateway`` and ``monitoring``) are made with
``lapor token create`` and last until revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Field, Session, SQLModel, select

from api.core.db import SessionDep
from api.core.errors import Forbidden, Unauthorized


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    leadership = "leadership"
    unit = "unit"
    admin = "admin"
    ivr = "ivr"
    collector = "collector"
    # SMS gateways and the dialplan's sms-in context (inbound SMS).
    gateway = "gateway"
    # Prometheus: reads GET /metrics, nothing else.
    monitoring = "monitoring"


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: Role
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name and role."""

    name: str
    role: Role
    token_id: int
    user_id: int | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    *,
    name: str,
    role: Role,
    user_id: int | None = None,
    expires_in: timedelta | None = None,
) -> tuple[str, ApiToken]:
    """Store a new token's hash; return the token (shown once, never stored) and its row."""
    token = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    record = ApiToken(
        name=name, role=role, token_hash=hash_token(token), user_id=user_id, expires_at=expires_at
    )
    session.add(record)
    session.commit()
    session.refresh(record)
    return token, record


def create_token(session: Session, *, name: str, role: Role) -> str:
    """A service token that lasts until revoked."""
    return issue_token(session, name=name, role=role)[0]


def revoke_token(
    session: Session,
    *,
    name: str | None = None,
    user_id: int | None = None,
    token_id: int | None = None,
) -> int:
    """Revoke every live token matching the given name, user or id; return how many."""
    statement = select(ApiToken).where(ApiToken.revoked_at == None)  # noqa: E711
    if name is not None:
        statement = statement.where(ApiToken.name == name)
    if user_id is not None:
        statement = statement.where(ApiToken.user_id == user_id)
    if token_id is not None:
        statement = statement.where(ApiToken.id == token_id)
    tokens = session.exec(statement).all()
    for token in tokens:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
    session.commit()
    return len(tokens)


# Each role is an OAuth2 scope, so every operation's roles appear in the OpenAPI schema.
_bearer = OAuth2PasswordBearer(
    tokenUrl="/auth/login",
    auto_error=False,
    scopes={role.value: f"acts as {role.value}" for role in Role},
)


def current_principal(
    session: SessionDep, token_text: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    unauthorized = Unauthorized("a valid bearer token is required")
    if not token_text:
        raise unauthorized
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token_text))
    ).first()
    if token is None or token.revoked_at is not None or token.id is None:
        raise unauthorized
    if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        raise unauthorized
    return Principal(name=token.name, role=token.role, token_id=token.id, user_id=token.user_id)


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (401 without a token, 403 otherwise)."""
    allowed = frozenset(roles)
    scopes = sorted(role.value for role in allowed)

    # A default, not Annotated: the scopes are local values, unknown to string annotations.
    def check(
        principal: Principal = Security(current_principal, scopes=scopes),  # noqa: B008
    ) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role} may not do this; allowed: " + ", ".join(scopes))
        return principal

    return check
