"""``lapor db copy``: SQLite to PostgreSQL and back, every row the same, ids and
sequences and time zones kept; a target with data is refused.

The source is filled by the API itself: calls through ``POST /events``, complaints with
their history, SMS, a callback, users and tokens.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.ops.dbcopy import tables
from tests.conftest import ApiHarness
from tests.e2e.services import BIN
from tests.integration.report_seed import seed
from tests.integration.test_callbacks_api import request_callback
from tests.integration.test_complaints_api import complaint

ROLES = ("collector", "ivr", "agent", "supervisor", "leadership")


@contextmanager
def running_api(url: str) -> Iterator[ApiHarness]:
    app = create_app(ApiSettings(database_url=url))
    upgrade(app.state.engine)
    with TestClient(app) as client:
        yield ApiHarness(client, app.state.engine)
    app.state.engine.dispose()


def populate(api: ApiHarness) -> None:
    seed(api.client, api.engine, {role: api.headers(Role(role)) for role in ROLES})
    request_callback(api, "081298765432", datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "10000004")
    sms = {"number": "081234567890", "text": "lapor 1 jalan rusak di Jl. Teuku Umar"}
    sent = api.client.post("/sms/inbound", json=sms, headers=api.headers(Role.gateway))
    assert sent.status_code == 201, sent.text
    ivr = api.headers(Role.ivr)
    lease = {"holder": "spool-aaaaaaaaaaaaaaaa", "host": "ivr-a", "pid": 4242}
    assert api.client.put("/ivr/nodes/10/lease", json=lease, headers=ivr).status_code == 200
    refused = {
        "complaint": complaint("10000003", uniqueid="1795890300.1"),
        "status_code": 409,
        "reason": "ticket 10000003 already belongs to another complaint",
    }
    held = api.client.post("/complaints/refused", json=refused, headers=ivr)
    assert held.status_code == 201, held.text
    wrong = {"username": "nobody", "password": "wrong password"}
    assert api.client.post("/auth/login", data=wrong).status_code == 401


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def every_row(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order, timestamps as aware UTC."""
    engine = sa.create_engine(url)
    rows = {}
    with engine.connect() as connection:
        for table in tables():
            order = list(table.primary_key.columns)
            result = connection.execute(sa.select(table).order_by(*order)).mappings()
            rows[table.name] = [{k: _utc(v) for k, v in row.items()} for row in result]
    engine.dispose()
    return rows


def lapor_db_copy(source: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lapor"), "db", "copy", source, target],
        # A session time zone that isn't UTC: a timestamp carried without its zone would
        # be shifted by seven hours and the comparison would see it.
        env={**os.environ, "PGTZ": "Asia/Jakarta"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_sqlite_to_postgresql_and_back_keeps_every_row(
    sqlite_url: str, postgres_url: str, tmp_path: Any
) -> None:
    with running_api(sqlite_url) as api:
        populate(api)
    original = every_row(sqlite_url)
    assert all(original[name] for name in ("call", "complaint", "complaint_history"))
    assert all(original[name] for name in ("callback_request", "sms_intake", "app_user"))
    assert all(original[name] for name in ("ivr_node_lease", "refused_complaint", "login_attempt"))

    there = lapor_db_copy(sqlite_url, postgres_url)
    assert there.returncode == 0, there.stderr
    assert every_row(postgres_url) == original

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    back = lapor_db_copy(postgres_url, back_url)
    assert back.returncode == 0, back.stderr
    assert every_row(back_url) == original

    # The copy is a working database: new rows get new ids (the sequences moved on) and
    # the SMS ticket counter continues.
    with running_api(postgres_url) as api:
        created = api.client.post(
            "/complaints", json=complaint("10007777"), headers=api.headers(Role.ivr)
        )
        assert created.status_code == 201, created.text
        assert created.json()["id"] > max(row["id"] for row in original["complaint"])
        sms = {"number": "081234567891", "text": "lapor 2 banjir di Jl. Kartini"}
        sent = api.client.post("/sms/inbound", json=sms, headers=api.headers(Role.gateway))
        assert sent.status_code == 201, sent.text
        assert sent.json()["ticket"] > max(row["ticket"] for row in original["sms_intake"])


def test_a_target_with_data_is_refused_and_left_alone(sqlite_url: str, postgres_url: str) -> None:
    with running_api(sqlite_url) as api:
        populate(api)
    with running_api(postgres_url) as api:
        made = api.client.post("/complaints", json=complaint(), headers=api.headers(Role.ivr))
        assert made.status_code == 201
    before = every_row(postgres_url)
    refused = lapor_db_copy(sqlite_url, postgres_url)
    assert refused.returncode == 1
    assert refused.stderr.startswith("lapor: db copy refused: the target already holds data")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert every_row(postgres_url) == before
