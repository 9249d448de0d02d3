"""Database engine and sessions; SQLite is the embedded default, PostgreSQL production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import URL, Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import Session, create_engine


class DatabaseUrlError(ValueError):
    """The database URL is not one SQLAlchemy can open (said in one line)."""


def parse_database_url(text: str) -> URL:
    """``text`` as a SQLAlchemy URL, or DatabaseUrlError saying what to write instead."""
    scheme = text.partition("://")[0]
    if scheme.split("+")[0] == "postgres":
        raise DatabaseUrlError(
            f"{scheme}:// is not a URL SQLAlchemy knows: write postgresql:// or "
            "postgresql+psycopg:// (the rest of the URL stays the same)"
        )
    try:
        return make_url(text)
    except ArgumentError:
        raise DatabaseUrlError(
            "not a database URL: expected e.g. sqlite:////var/lib/lapor/lapor.db or "
            "postgresql+psycopg://user:password@host:5432/lapor"
        ) from None


def make_engine(database_url: str) -> Engine:
    """Create an engine; for a file-backed SQLite URL, create the file's folder first."""
    url = parse_database_url(database_url)
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise DatabaseUrlError(f"no database driver for {url.drivername}://") from None
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
        # WAL lets readers work while the ingest writes; foreign keys are off by default.
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def is_postgres(bind: Session | Engine | Connection) -> bool:
    """PostgreSQL (production), else SQLite: the one check of which database this is."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect
    return bool(dialect.name == "postgresql")


def conflict_insert(session: Session, table: Any) -> Any:
    """An INSERT into ``table`` that takes ``on_conflict_do_*`` on either database."""
    return (postgresql if is_postgres(session) else sqlite).insert(table)


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
