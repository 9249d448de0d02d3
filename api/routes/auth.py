"""Login and logout for people; tokens for services come from the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth import Principal, Role, require_roles, revoke_token
from api.db import SessionDep
from api.settings import ApiSettings
from api.users import login

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginResult(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: Role
    username: str


@router.post("/login")
def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, request: Request
) -> LoginResult:
    """Exchange a username and password for a short-lived bearer token."""
    settings: ApiSettings = request.app.state.settings
    user, token, record = login(
        session,
        username=form.username,
        password=form.password,
        ttl=timedelta(minutes=settings.token_ttl_minutes),
        max_failures=settings.login_max_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )
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
