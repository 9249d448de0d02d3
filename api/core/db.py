"""Database engine and sessions; SQLite is the embedded default, PostgreSQL production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine


def make_engine(database_url: str) -> Engine:
    """Create an engine; for a file-backed SQLite URL, create the file's folder first."""
    url = make_url(database_url)
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
