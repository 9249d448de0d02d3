"""Shared fixtures: databases on SQLite and on a real PostgreSQL, and the API on them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import Engine
from sqlmodel import Session

from api.core.auth import Role, create_token, issue_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.people.users import PERSON_ROLES, User
from sandbox import postgres

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose real dependency is missing, except in CI, where that is a failure."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@dataclass
class PostgresServer:
    """The tests' PostgreSQL: ``LAPOR_TEST_PG_DSN`` if set (a server the user already has),
    else the repo's throwaway cluster in var/pg (sandbox/postgres.py), started the first
    time a test needs it and released when the session ends (stopped unless another run
    or ``make run`` still uses it)."""

    given: str | None = field(default_factory=lambda: os.environ.get("LAPOR_TEST_PG_DSN") or None)
    lease: postgres.ClusterLease | None = None
    error: str | None = None
    stopped: bool = False

    def admin_dsn(self) -> str:
        if self.given:
            return self.given
        if self.lease is None and self.error is None:
            try:
                self.lease = postgres.acquire()
            except (postgres.ClusterError, OSError) as exc:
                self.error = f"PostgreSQL cluster in {postgres.default_root()}: {exc}"
        if self.lease is None:
            unavailable(self.error or "no PostgreSQL")
        return self.lease.dsn

    def release(self) -> None:
        if self.lease is not None:
            self.stopped = self.lease.release()

    def describe(self) -> str | None:
        """Which server the tests used, for the end of pytest's report."""
        if self.given:
            return f"PostgreSQL: LAPOR_TEST_PG_DSN={self.given}"
        if self.lease is not None:
            end = "stopped at the end" if self.stopped else "left running for another user"
            return f"PostgreSQL: {self.lease.dsn} in {self.lease.cluster.root} ({end})"
        return f"PostgreSQL: {self.error}" if self.error else None


POSTGRES = PostgresServer()


def pytest_configure(config: pytest.Config) -> None:
    """Every `lapor-api` process a test starts inherits this environment: its daily report
    schedule stays off unless the test turns it on, or it would make yesterday's report in
    the background and move verified complaints to dilaporkan mid-test. (Apps made in the
    test process with ``create_app`` run no schedule at all.)"""
    os.environ.setdefault("LAPOR_API_REPORT_ENABLED", "false")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After pytest's own sessionfinish, which tears session-scoped fixtures down (and
    every fixture on Ctrl-C): they may still drop their databases."""
    POSTGRES.release()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = POSTGRES.describe()
    if line:
        terminalreporter.write_line(line)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lapor.db'}"


@contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy URL), dropped on exit."""
    name = f"lapor_test_{secrets.token_hex(6)}"
    admin_dsn = POSTGRES.admin_dsn()
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL at {admin_dsn}: {exc}")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            base = admin_dsn.rsplit("/", 1)[0]
            yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Run a test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@dataclass
class ApiHarness:
    """The API app on a migrated database, with a way to mint tokens per role."""

    client: TestClient
    engine: Engine

    def token(self, role: Role, name: str | None = None) -> str:
        """A service token, or for a person's role a token of a new user of that role."""
        if role in PERSON_ROLES:
            return self.person(role, name=name)
        with Session(self.engine) as session:
            return create_token(session, name=name or f"test-{role}", role=role)

    def person(self, role: Role, *, name: str | None = None, unit: str | None = None) -> str:
        """A login token of a new user; unit users belong to ``unit`` (default "dinas-pu")."""
        username = name or f"test-{role}-{secrets.token_hex(4)}"
        if role is Role.unit:
            unit = unit or "dinas-pu"
        with Session(self.engine) as session:
            user = User(
                username=username, full_name=username, role=role, unit=unit, password_hash="!"
            )
            session.add(user)
            session.commit()
            return issue_token(session, name=username, role=role, user_id=user.id)[0]

    def headers(self, role: Role, **person: str) -> dict[str, str]:
        token = self.person(role, **person) if person else self.token(role)
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(database_url: str) -> Iterator[ApiHarness]:
    """The API on SQLite and on PostgreSQL (the test runs once on each)."""
    settings = ApiSettings(database_url=database_url)
    app = create_app(settings)
    engine: Engine = app.state.engine
    upgrade(engine)
    with TestClient(app) as client:
        yield ApiHarness(client, engine)
