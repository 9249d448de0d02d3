"""Login and logout for people; tokens for services come from the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel

from api.core.auth import Principal, Role, require_roles, revoke_token
from api.core.db import SessionDep
from api.people.users import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, login_from

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginResult(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: Role
    username: str


@router.post("/login")
def log_in(
    # The OAuth2 password flow's fields, bounded: an oversize one is 422, nothing stored.
    username: Annotated[str, Form(min_length=1, max_length=MAX_USERNAME_LENGTH)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    session: SessionDep,
    request: Request,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> LoginResult:
    """Exchange a username and password for a short-lived bearer token.

    Failed logins are counted per username and client address: past
    ``LAPOR_API_LOGIN_MAX_FAILURES`` within the window, that pair gets 429."""
    user, token, record = login_from(request, session, username, password)
    assert record.expires_at is not None
    return LoginResult(
        access_token=token, expires_at=record.expires_at, role=user.role, username=user.username
    )


@router.post("/logout", status_code=204)
def log_out(
    principal: Annotated[Principal, Depends(require_roles(*Role))], session: SessionDep
) -> None:
    """Revoke the token used for this request."""
    revoke_token(session, token_id=principal.token_id)
