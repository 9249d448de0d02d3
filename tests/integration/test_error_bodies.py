"""Every error is the one JSON body ``{error, message}``: the API's own, the token checks'
(401, 403) and the framework's (404, 405, 422); errors no route anticipated get it too,
and a 4xx, not a 500."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.auth import Role
from api.core.errors import install_error_handlers
from tests.conftest import ApiHarness

TOKEN_REQUIRED = {"error": "unauthorized", "message": "a valid bearer token is required"}


def test_a_missing_token_is_401_with_the_error_body(api: ApiHarness) -> None:
    response = api.client.get("/users")
    assert response.status_code == 401
    assert response.json() == TOKEN_REQUIRED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_bad_token_is_401_with_the_error_body(api: ApiHarness) -> None:
    response = api.client.get("/users", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json() == TOKEN_REQUIRED
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_wrong_role_is_403_with_the_error_body(api: ApiHarness) -> None:
    response = api.client.get("/users", headers=api.headers(Role.agent))
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "message": "role agent may not do this; allowed: admin",
    }
    assert "WWW-Authenticate" not in response.headers


def test_the_frameworks_own_errors_have_the_error_body(api: ApiHarness) -> None:
    unknown = api.client.get("/no-such-path")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    wrong_method = api.client.delete("/health")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "method_not_allowed")
    assert wrong_method.headers["Allow"] == "GET"
    invalid = api.client.post("/users", json={}, headers=api.headers(Role.admin))
    assert invalid.status_code == 422
    body = invalid.json()
    assert (body["error"], body["message"]) == ("invalid_input", "the request does not validate")
    assert {error["loc"][0] for error in body["detail"]} == {"body"}


def test_an_overflow_from_client_input_is_422_invalid_value() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/day-after/{day}")
    def day_after(day: date) -> date:
        return day + timedelta(days=1)  # OverflowError for 9999-12-31

    with TestClient(app) as client:
        assert client.get("/day-after/2026-11-28").json() == "2026-11-29"
        response = client.get("/day-after/9999-12-31")
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_value", "message": "a value is out of range"}
