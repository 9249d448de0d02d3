"""The same property-based run as ``test_fuzz_api``, on PostgreSQL.

PostgreSQL refuses what SQLite stores (a NUL in text, text longer than its column, an
integer out of range), so a 500 that SQLite hides shows up here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.conftest import ApiHarness, temporary_postgres_database
from tests.integration.test_complaints_api import complaint
from tests.integration.test_fuzz_api import CLOSED_PORT, admitted_role, schema


@pytest.fixture(scope="module")
def postgres_app() -> Iterator[tuple[FastAPI, ApiHarness]]:
    with (
        temporary_postgres_database() as url,
        tempfile.TemporaryDirectory(prefix="lapor-fuzz-pg-") as folder,
    ):
        app = create_app(
            ApiSettings(
                database_url=url,
                recordings_dir=Path(folder),
                ami_port=CLOSED_PORT,
                report_enabled=False,
            )
        )
        upgrade(app.state.engine)
        with TestClient(app) as client:
            harness = ApiHarness(client, app.state.engine)
            seeded = client.post("/complaints", json=complaint(), headers=harness.headers(Role.ivr))
            assert seeded.status_code == 201
            yield app, harness
        app.state.engine.dispose()


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_the_api_fail_on_postgres(
    case: Any, postgres_app: tuple[FastAPI, ApiHarness]
) -> None:
    app, harness = postgres_app
    role = admitted_role(case.operation.definition.raw)
    if role is not None:
        token = harness.token(Role(role))
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call(app=app)
    detail = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500 or (
        response.status_code == 503 and "error" in response.json()
    ), detail
