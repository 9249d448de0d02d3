"""Property-based run over the OpenAPI schema: bad input gets a clear 4xx, never a 500.

Schemathesis generates valid and invalid requests for every operation (Hypothesis), each
sent with a token of a role the operation admits, against the real app on SQLite with a
seeded complaint. Asterisk is not running, so routes that need it may answer 503 with an
error body; every other 5xx fails.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.conftest import ApiHarness
from tests.integration.test_complaints_api import complaint

CLOSED_PORT = 9  # discard: nothing listens, so AMI commands fail fast with 503


# Schemathesis needs the app when the module loads (its fixture loader breaks on pytest 9).
FOLDER = Path(tempfile.mkdtemp(prefix="lapor-fuzz-"))
APP = create_app(
    ApiSettings(
        database_url=f"sqlite:///{FOLDER}/lapor.db",
        recordings_dir=FOLDER,
        ami_port=CLOSED_PORT,
        report_enabled=False,
        docs_enabled=True,  # the schema is read from /openapi.json
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


# Session-scoped: Schemathesis' parametrized items would otherwise each get a new one.
@pytest.fixture(scope="session")
def harness() -> Iterator[ApiHarness]:
    upgrade(APP.state.engine)
    with TestClient(APP) as client:
        harness = ApiHarness(client, APP.state.engine)
        seeded = client.post("/complaints", json=complaint(), headers=harness.headers(Role.ivr))
        assert seeded.status_code == 201
        yield harness
    APP.state.engine.dispose()
    shutil.rmtree(FOLDER, ignore_errors=True)


def admitted_role(operation: dict[str, Any]) -> str | None:
    for requirement in operation.get("security", []):
        for scopes in requirement.values():
            if scopes:
                return str(sorted(scopes)[0])
    return None


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_the_api_fail(case: Any, harness: ApiHarness) -> None:
    role = admitted_role(case.operation.definition.raw)
    if role is not None:
        # A new token each time (the run calls /auth/logout too), over any Authorization
        # header Schemathesis generated from the security scheme.
        token = harness.token(Role(role))
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call()
    detail = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500 or (
        response.status_code == 503 and "error" in response.json()
    ), detail
