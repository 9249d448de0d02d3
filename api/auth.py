"""Roles and bearer tokens. Every route except health declares the roles it allows.

Tokens are opaque random strings; only their SHA-256 is stored, so a database leak
reveals no usable token. Service tokens (roles ``ivr`` and ``collector``) are made with
``lapor token create``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Field, Session, SQLModel, select

from api.db import SessionDep


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    leadership = "leadership"
    unit = "unit"
    admin = "admin"
    ivr = "ivr"
    collector = "collector"


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    role: Role
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name and role."""

    name: str
    role: Role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, name: str, role: Role) -> str:
    """Store a new token's hash and return the token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role, token_hash=hash_token(token)))
    session.commit()
    return token


def revoke_token(session: Session, *, name: str) -> int:
    """Revoke every live token with this name; return how many."""
    tokens = session.exec(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at == None)  # noqa: E711
    ).all()
    for token in tokens:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
    session.commit()
    return len(tokens)


_bearer = HTTPBearer(auto_error=False)


def current_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="a valid bearer token is required",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(credentials.credentials))
    ).first()
    if token is None or token.revoked_at is not None:
        raise unauthorized
    return Principal(name=token.name, role=token.role)


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (401 without a token, 403 otherwise)."""
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role} may not do this; allowed: "
                + ", ".join(sorted(allowed)),
            )
        return principal

    check.allowed_roles = allowed  # type: ignore[attr-defined]
    return check
