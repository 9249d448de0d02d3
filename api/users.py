"""People who log in: officers, supervisors, the mayor's office, city units and admins.

Passwords are hashed with Argon2id. Failed logins are counted per username in the
database (so the limit holds across API replicas) and answered with 429 past the limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, col, func, select

from api.auth import ApiToken, Role, issue_token
from api.errors import ApiError, Conflict, InvalidInput
from api.units import check_unit

MIN_PASSWORD_LENGTH = 10
# Service roles belong to machines, which get tokens from `lapor token create`.
PERSON_ROLES = frozenset({Role.agent, Role.supervisor, Role.leadership, Role.unit, Role.admin})
_hasher = PasswordHasher()
# Verifying against this keeps unknown usernames as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("lapor-timing-equaliser")


class TooManyAttempts(ApiError):
    status_code = 429
    error_id = "too_many_login_attempts"


class BadCredentials(ApiError):
    status_code = 401
    error_id = "bad_credentials"


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=200)
    role: Role
    # The city department a `unit` user belongs to.
    unit: str | None = Field(default=None, max_length=100)
    # An officer's phone: the PJSIP endpoint the queue rings (e.g. "1001").
    extension: str | None = Field(default=None, max_length=32)
    password_hash: str = Field(max_length=200)
    active: bool = True
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)
    succeeded: bool


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    full_name: str,
    unit: str | None = None,
    extension: str | None = None,
) -> User:
    if role not in PERSON_ROLES:
        raise InvalidInput(f"role {role} is for services; use `lapor token create`")
    if role is Role.unit and not unit:
        raise InvalidInput("a unit user needs the unit it belongs to")
    if unit is not None:
        check_unit(unit)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"username {username!r} is taken", "username_taken")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        unit=unit,
        extension=extension,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def recent_failures(session: Session, username: str, window: timedelta) -> int:
    since = datetime.now(UTC) - window
    statement = select(func.count()).where(
        LoginAttempt.username == username,
        col(LoginAttempt.at) >= since,
        LoginAttempt.succeeded == False,  # noqa: E712
    )
    return session.exec(statement).one()


def login(
    session: Session,
    *,
    username: str,
    password: str,
    ttl: timedelta,
    max_failures: int,
    window: timedelta,
) -> tuple[User, str, ApiToken]:
    """Check the password and issue a short-lived token; raise on failure or lock-out."""
    if recent_failures(session, username, window) >= max_failures:
        raise TooManyAttempts(
            f"too many failed logins for {username!r}; try again in {window.seconds // 60} minutes"
        )
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not _password_matches(user, password) or not user.active:
        session.add(LoginAttempt(username=username, succeeded=False))
        session.commit()
        raise BadCredentials("wrong username or password")
    session.add(LoginAttempt(username=username, succeeded=True))
    token, record = issue_token(
        session, name=user.username, role=user.role, user_id=user.id, expires_in=ttl
    )
    return user, token, record


def _password_matches(user: User | None, password: str) -> bool:
    try:
        matched = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and user is not None
