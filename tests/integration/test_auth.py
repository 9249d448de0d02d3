"""Bearer tokens and roles: 401 without a valid token, 403 for a wrong role."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.core.auth import Principal, Role, create_token, require_roles, revoke_token
from api.core.db import make_engine
from api.core.errors import install_error_handlers
from api.core.migrate import upgrade
from tests.conftest import ApiHarness


@pytest.mark.parametrize("role", list(Role))
def test_every_role_can_ask_who_it_is(api: ApiHarness, role: Role) -> None:
    response = api.client.get("/me", headers=api.headers(role))
    assert response.status_code == 200
    assert response.json()["role"] == role
    assert response.json()["name"].startswith(f"test-{role}")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwdw=="}],
)
def test_missing_or_unknown_token_is_401(api: ApiHarness, headers: dict[str, str]) -> None:
    response = api.client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_401(api: ApiHarness) -> None:
    token = api.token(Role.ivr, name="ivr-node-1")
    assert api.client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with Session(api.engine) as session:
        assert revoke_token(session, name="ivr-node-1") == 1
    assert api.client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_role_is_403_and_right_role_passes(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    app = FastAPI()
    app.state.engine = engine
    install_error_handlers(app)

    @app.get("/only-collector")
    def only_collector(
        principal: Annotated[Principal, Depends(require_roles(Role.collector))],
    ) -> str:
        return principal.name

    with TestClient(app) as client, Session(engine) as session:
        ivr = create_token(session, name="ivr", role=Role.ivr)
        collector = create_token(session, name="node-a", role=Role.collector)
        denied = client.get("/only-collector", headers={"Authorization": f"Bearer {ivr}"})
        allowed = client.get("/only-collector", headers={"Authorization": f"Bearer {collector}"})
    assert denied.status_code == 403
    assert "collector" in denied.json()["message"]
    assert allowed.json() == "node-a"


def test_cli_creates_a_working_token(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import main
    from api.core.settings import ApiSettings
    from api.main import create_app

    monkeypatch.setenv("LAPOR_API_DATABASE_URL", sqlite_url)
    assert main(["token", "create", "--role", "collector", "--name", "node-a"]) == 0
    token = capsys.readouterr().out.strip()
    with TestClient(create_app(ApiSettings(database_url=sqlite_url))) as client:
        response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"name": "node-a", "role": "collector"}
