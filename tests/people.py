"""Officers for tests: the one password they log in with, and agents added straight to the
database (integration tests on SQLite or PostgreSQL, e2e tests before the API starts)."""

from __future__ import annotations

from sqlmodel import Session

from api.core.auth import Role
from api.people.users import User, create_user

PASSWORD = "kota-tapis-berseri"


def add_agent(
    session: Session, username: str, extension: str | None = None, full_name: str | None = None
) -> User:
    """An agent who logs in as ``username`` with ``PASSWORD``, on the phone ``extension`` (or
    none); the full name defaults to the username, capitalised."""
    return create_user(
        session,
        username=username,
        password=PASSWORD,
        role=Role.agent,
        full_name=username.title() if full_name is None else full_name,
        extension=extension,
    )


def add_people(session: Session, people: dict[str, tuple[Role, str | None]]) -> None:
    """Users who log in with ``PASSWORD``: username -> (role, unit or None)."""
    for username, (role, unit) in people.items():
        create_user(
            session,
            username=username,
            password=PASSWORD,
            role=role,
            full_name=username.title(),
            unit=unit,
        )
