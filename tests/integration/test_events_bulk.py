"""Bulk event writes: an event stored meanwhile by another batch is skipped, not an error."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from api.core.db import make_engine
from api.core.migrate import upgrade
from api.events.bulk import EventRow, insert_events
from api.events.models import AmiEvent


def test_rows_stored_meanwhile_are_skipped(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    rows = [EventRow(f"cc1:{i}", "cc1", "Hangup", at, at, "1.1", {"N": "é"}) for i in range(5)]
    with Session(engine) as session:
        insert_events(session, rows[1:3])
        session.commit()
    with Session(engine) as session:
        stored = insert_events(session, rows)  # on PostgreSQL the COPY fails: the fallback
        session.commit()
    assert [r.id for r in stored] == ["cc1:0", "cc1:3", "cc1:4"]
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(AmiEvent)).scalar_one() == 5
        assert session.get(AmiEvent, "cc1:4") is not None
    engine.dispose()
