"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from api.db import make_engine
from api.migrate import downgrade, upgrade
from api.tables import metadata


def test_upgrade_matches_the_models_and_downgrade_empties(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent: a second start-up changes nothing
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == []
        downgrade(engine)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_complaints_taken_before_the_workflow_get_its_statuses(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002_complaints")
        with engine.begin() as connection:
            for number, status in enumerate(("received", "in_progress", "resolved", "closed")):
                connection.execute(
                    text(
                        "INSERT INTO complaint (ticket, category, caller_number, line, uniqueid,"
                        " taken_at, status, created_at) VALUES (:ticket, 'lainnya', '0812', '1',"
                        " :ticket, CURRENT_TIMESTAMP, :status, CURRENT_TIMESTAMP)"
                    ),
                    {"ticket": f"1000000{number}", "status": status},
                )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT ticket, status, channel FROM complaint ORDER BY ticket")
            ).all()
        assert [tuple(row) for row in rows] == [
            ("10000000", "diterima", "phone"),
            ("10000001", "ditindaklanjuti", "phone"),
            ("10000002", "selesai", "phone"),
            ("10000003", "selesai", "phone"),
        ]
        downgrade(engine)
    finally:
        engine.dispose()
