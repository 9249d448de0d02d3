"""People who log in: officers, supervisors, the mayor's office, city units and admins.

Passwords are hashed with Argon2id. Login attempts are counted in the database (so the
limit holds across API replicas) per username and client address: an attacker at one
address locks out only themselves, not the user everywhere. Each attempt is reserved (its
row committed) before the password is checked, so parallel requests can't all slip under
the limit; past it, login answers 429 without checking the password.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from sqlalchemy import Index, delete, update
from sqlmodel import Field, Session, SQLModel, col, func, select

import asterisk_values as values
from api.core.auth import ApiToken, Principal, Role, issue_token
from api.core.city_units import check_unit
from api.core.errors import BadCredentials, Conflict, InvalidInput, TooManyAttempts
from api.core.metrics import LOGIN_FAILURES
from api.core.settings import ApiSettings

MIN_PASSWORD_LENGTH = 10
# Far above any passphrase; bounds what a login makes the server hash.
MAX_PASSWORD_LENGTH = 256
# The widths of app_user.username and login_attempt.username / .client.
MAX_USERNAME_LENGTH = 64
MAX_CLIENT_LENGTH = 64
# Service roles belong to machines, which get tokens from `lapor token create`.
PERSON_ROLES = frozenset({Role.agent, Role.supervisor, Role.leadership, Role.unit, Role.admin})
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps unknown usernames as slow as wrong passwords. Made on
    first use, not at import (Argon2 takes 64 MiB and tens of ms in every process)."""
    return _hasher.hash("lapor-timing-equaliser")


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
    """One login attempt: reserved as a failure before the password is checked, marked
    succeeded after. Rows older than the lock-out window are purged on each login."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_key", "username", "client", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=MAX_USERNAME_LENGTH)
    # The client address (see ``client_key``); "" when unknown.
    client: str = Field(default="", max_length=MAX_CLIENT_LENGTH)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)
    succeeded: bool


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_person_role(role: Role) -> None:
    """Refuse a service role for a user who logs in with a password (422)."""
    if role not in PERSON_ROLES:
        raise InvalidInput(f"role {role} is for services; use `lapor token create`")


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
    check_person_role(role)
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


def client_key(host: str | None) -> str:
    """The address a login is counted against: an IPv4 address, or an IPv6 address's /64
    (one subscriber's usual allocation, so rotating addresses within it gains nothing)."""
    if not host:
        return ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:MAX_CLIENT_LENGTH]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def recent_failures(session: Session, username: str, client: str, since: datetime) -> int:
    statement = select(func.count()).where(
        LoginAttempt.username == username,
        LoginAttempt.client == client,
        col(LoginAttempt.at) >= since,
        LoginAttempt.succeeded == False,  # noqa: E712
    )
    return session.exec(statement).one()


def reserve_attempt(
    session: Session, *, username: str, client: str, max_failures: int, window: timedelta
) -> int:
    """Record an attempt as a failure, then count; return its id, or raise 429 past the limit.

    The row is committed before counting, so of any number of parallel attempts the n-th to
    commit counts at least n: at most ``max_failures`` get past this per window, on SQLite
    and on PostgreSQL, without a lock held while Argon2 runs. A refused attempt removes its
    row again (it checked no password), so hammering stores nothing lasting.
    """
    now = datetime.now(UTC)
    since = now - window
    # Purge on write: an index range on ``at``, usually empty.
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < since))
    attempt = LoginAttempt(username=username, client=client, at=now, succeeded=False)
    session.add(attempt)
    session.flush()
    attempt_id = attempt.id
    assert attempt_id is not None
    session.commit()
    if recent_failures(session, username, client, since) > max_failures:
        session.execute(delete(LoginAttempt).where(col(LoginAttempt.id) == attempt_id))
        session.commit()
        raise TooManyAttempts(
            f"too many failed logins for {username!r}; try again in "
            f"{int(window.total_seconds()) // 60} minutes"
        )
    return attempt_id


def login(
    session: Session,
    *,
    username: str,
    password: str,
    client: str,
    ttl: timedelta,
    max_failures: int,
    window: timedelta,
) -> tuple[User, str, ApiToken]:
    """Check the password and issue a short-lived token; raise on failure or lock-out.

    ``username`` and ``password`` are bounded by the caller (the login form); ``client``
    is the caller's ``client_key``.
    """
    attempt_id = reserve_attempt(
        session, username=username, client=client, max_failures=max_failures, window=window
    )
    user = session.exec(select(User).where(User.username == username)).first()
    matched = _password_matches(user, password)
    # A service role on a password user (set before that was refused) never logs in.
    if user is None or not matched or not user.active or user.role not in PERSON_ROLES:
        raise BadCredentials("wrong username or password")  # the reserved failure stays
    session.execute(
        update(LoginAttempt).where(col(LoginAttempt.id) == attempt_id).values(succeeded=True)
    )
    token, record = issue_token(
        session, name=user.username, role=user.role, user_id=user.id, expires_in=ttl
    )
    return user, token, record


def _password_matches(user: User | None, password: str) -> bool:
    try:
        matched = _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and user is not None


def phone_of(session: Session, principal: Principal) -> tuple[str, str]:
    """The officer's username and phone (PJSIP endpoint); a user without one can't log in."""
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None or not user.extension:
        raise InvalidInput("this user has no phone extension; an admin must set one")
    try:
        return values.name(user.username), values.endpoint(user.extension)
    except values.UnsafeValue as exc:
        raise InvalidInput(f"this user's phone can't be used with Asterisk: {exc}") from exc


def login_from(
    request: Request, session: Session, username: str, password: str
) -> tuple[User, str, ApiToken]:
    """``login`` with the app's settings and the request's client address (the JSON login
    and the pages' sign-in form); each failure is counted for /metrics."""
    settings: ApiSettings = request.app.state.settings
    try:
        return login(
            session,
            username=username,
            password=password,
            client=client_key(request.client.host if request.client else None),
            ttl=timedelta(minutes=settings.token_ttl_minutes),
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
        )
    except (BadCredentials, TooManyAttempts):
        LOGIN_FAILURES.inc()
        raise
