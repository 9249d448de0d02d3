"""User administration (role admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field, model_validator
from sqlmodel import select

from api.core.auth import Principal, Role, require_roles, revoke_token
from api.core.city_units import check_unit
from api.core.db import SessionDep
from api.core.errors import NotFound
from api.people.users import User, check_person_role, create_user, hash_password

router = APIRouter(prefix="/users", tags=["users"])
AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
# Row ids are 32-bit integers on PostgreSQL.
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class UserCreate(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9._-]+$")
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    unit: str | None = Field(default=None, max_length=100)
    extension: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_-]{1,32}$")
    password: str


class UserUpdate(BaseModel):
    """Only the fields given change; unit and extension may be cleared with null."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    unit: str | None = None
    extension: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_-]{1,32}$")
    active: bool | None = None
    password: str | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> UserUpdate:
        cleared = {"full_name", "role", "active", "password"} & {
            name for name in self.model_fields_set if getattr(self, name) is None
        }
        if cleared:
            raise ValueError(f"{', '.join(sorted(cleared))} can't be null")
        return self


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role
    unit: str | None
    extension: str | None
    active: bool
    created_at: datetime


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@router.post("", status_code=201)
def add_user(body: UserCreate, session: SessionDep, _: AdminDep) -> UserPublic:
    """Create a user who logs in with a password."""
    return _public(create_user(session, **body.model_dump()))


@router.get("")
def list_users(session: SessionDep, _: AdminDep) -> list[UserPublic]:
    """List every user."""
    return [_public(u) for u in session.exec(select(User).order_by(User.username)).all()]


@router.patch("/{user_id}")
def update_user(user_id: UserId, body: UserUpdate, session: SessionDep, _: AdminDep) -> UserPublic:
    """Change a user's name, role, unit, password or active flag."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes:
        check_person_role(changes["role"])  # service roles are for `lapor token create`
    if changes.get("unit") is not None:
        check_unit(changes["unit"])
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
    for field, value in changes.items():
        setattr(user, field, value)
    session.add(user)
    session.commit()
    if user.active is False or "role" in changes or body.password is not None:
        # A changed role, password or a deactivation ends every session of that user.
        revoke_token(session, user_id=user_id)
    session.refresh(user)
    return _public(user)


@router.post("/{user_id}/revoke-tokens")
def revoke_user_tokens(user_id: UserId, session: SessionDep, _: AdminDep) -> dict[str, int]:
    """Log a user out everywhere."""
    if session.get(User, user_id) is None:
        raise NotFound(f"no user {user_id}")
    return {"revoked": revoke_token(session, user_id=user_id)}
