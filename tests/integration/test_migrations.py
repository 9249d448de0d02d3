"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from api.core.db import make_engine
from api.core.migrate import downgrade, heads, upgrade
from api.tables import metadata


def test_history_is_one_line() -> None:
    assert heads() == ["0032_survey_rating"]


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


def test_imported_queue_log_lines_move_onto_their_calls_and_back(database_url: str) -> None:
    lines = [
        "1795890000|1.1|pengaduan|NONE|ENTERQUEUE||0812|1",
        "1795890009|1.1|pengaduan|petugas-1001|CONNECT|9|1.2|1",
    ]
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003_events")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO call (node, linkedid, outcome) VALUES ('cc1', '1.1', 'answered')")
            )
            for n, line in enumerate([*lines, "1795890001|NONE|pengaduan|a|PAUSE|lunch"]):
                parts = line.split("|")
                fields = dict(
                    zip(("Timestamp", "CallId", "Queue", "Agent", "Verb"), parts, strict=False)
                )
                fields.update({f"Data{i - 4}": parts[i] for i in range(5, len(parts))})
                connection.execute(
                    text(
                        "INSERT INTO ami_event (id, node, name, at, received_at, linkedid, fields)"
                        " VALUES (:id, 'cc1', 'QueueLog', :at, :at, :linkedid, :fields)"
                    ),
                    {
                        "id": f"ql:{n}",
                        "at": datetime.fromtimestamp(int(parts[0]), UTC),
                        "linkedid": None if parts[1] == "NONE" else parts[1],
                        "fields": json.dumps(fields),
                    },
                )
        upgrade(engine)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT queue_log FROM call")).scalar_one()
            events = connection.execute(text("SELECT count(*) FROM ami_event")).scalar_one()
        assert (stored.split("\n"), events) == (lines, 0)
        downgrade(engine, "0003_events")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT fields FROM ami_event ORDER BY at")).scalars()
            verbs = [(json.loads(f) if isinstance(f, str) else f)["Verb"] for f in back]
        assert verbs == ["ENTERQUEUE", "CONNECT"]
        downgrade(engine)
    finally:
        engine.dispose()


def test_hourly_rollups_get_their_completed_calls_counted(database_url: str) -> None:
    engine = make_engine(database_url)
    hour = datetime(2026, 11, 28, 3, tzinfo=UTC)
    try:
        upgrade(engine, "0010_call_queue_log")
        with engine.begin() as connection:
            for n, talk in enumerate((60, None, 30)):
                connection.execute(
                    text(
                        "INSERT INTO call (node, linkedid, queue, outcome, queue_entered_at,"
                        " talk_seconds) VALUES ('cc1', :id, 'pengaduan', 'answered', :at, :talk)"
                    ),
                    {"id": f"1.{n}", "at": hour.replace(minute=10 * n), "talk": talk},
                )
            connection.execute(
                text(
                    "INSERT INTO call_hourly (hour, queue, category, offered, answered, abandoned,"
                    " short_abandoned, exit_timeout, callback_requested, answered_in_sl,"
                    " abandoned_in_sl, hold_sum, talk_sum, max_wait) VALUES"
                    " (:hour, 'pengaduan', '', 3, 3, 0, 0, 0, 0, 3, 0, 0, 90, 0)"
                ),
                {"hour": hour},
            )
        upgrade(engine)
        with engine.connect() as connection:
            completed = connection.execute(text("SELECT completed FROM call_hourly")).scalar_one()
        assert completed == 2
        downgrade(engine)
    finally:
        engine.dispose()
