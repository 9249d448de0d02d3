"""People: Argon2id passwords, login, lock-out, logout, expiry, admin user management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from api.core.auth import Role, issue_token
from api.people.users import User, create_user
from tests.conftest import ApiHarness
from tests.people import PASSWORD


def add_user(api: ApiHarness, username: str = "siti", role: Role = Role.agent) -> User:
    with Session(api.engine) as session:
        return create_user(
            session, username=username, password=PASSWORD, role=role, full_name="Siti Aisyah"
        )


def log_in(api: ApiHarness, username: str, password: str) -> tuple[int, dict[str, str]]:
    response = api.client.post("/auth/login", data={"username": username, "password": password})
    return response.status_code, response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_issues_a_token_that_works_and_logout_revokes_it(api: ApiHarness) -> None:
    add_user(api)
    status, body = log_in(api, "siti", PASSWORD)
    assert status == 200
    assert body["role"] == "agent"
    assert api.client.get("/me", headers=bearer(body["access_token"])).json()["role"] == "agent"
    assert api.client.post("/auth/logout", headers=bearer(body["access_token"])).status_code == 204
    assert api.client.get("/me", headers=bearer(body["access_token"])).status_code == 401


def test_password_is_stored_as_argon2id_only(api: ApiHarness) -> None:
    add_user(api)
    with Session(api.engine) as session:
        stored = session.exec(select(User)).one().password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    ("username", "password"), [("siti", "wrong-password"), ("nobody", PASSWORD)]
)
def test_bad_credentials_are_401(api: ApiHarness, username: str, password: str) -> None:
    add_user(api)
    status, body = log_in(api, username, password)
    assert status == 401
    assert body["error"] == "bad_credentials"


def test_repeated_failures_lock_the_username_even_for_the_right_password(api: ApiHarness) -> None:
    add_user(api)
    for _ in range(5):
        assert log_in(api, "siti", "wrong-password")[0] == 401
    status, body = log_in(api, "siti", PASSWORD)
    assert status == 429
    assert body["error"] == "too_many_login_attempts"


def test_expired_token_is_401(api: ApiHarness) -> None:
    user = add_user(api)
    with Session(api.engine) as session:
        token, _ = issue_token(
            session, name="siti", role=Role.agent, user_id=user.id, expires_in=timedelta(seconds=-1)
        )
    assert api.client.get("/me", headers=bearer(token)).status_code == 401


def test_admin_manages_users_and_deactivation_ends_sessions(api: ApiHarness) -> None:
    admin = api.headers(Role.admin)
    created = api.client.post(
        "/users",
        headers=admin,
        json={"username": "budi", "full_name": "Budi", "role": "supervisor", "password": PASSWORD},
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    token = log_in(api, "budi", PASSWORD)[1]["access_token"]
    assert "budi" in [u["username"] for u in api.client.get("/users", headers=admin).json()]
    patched = api.client.patch(f"/users/{user_id}", headers=admin, json={"active": False})
    assert patched.json()["active"] is False
    assert api.client.get("/me", headers=bearer(token)).status_code == 401
    assert log_in(api, "budi", PASSWORD)[0] == 401


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"role": "ivr"}, 422, "invalid_input"),
        ({"password": "short"}, 422, "invalid_input"),
        ({"password": "p" * 257}, 422, "invalid_input"),
        ({"role": "unit"}, 422, "invalid_input"),
        ({"username": "siti"}, 409, "username_taken"),
    ],
)
def test_bad_user_input_gets_a_clear_error(
    api: ApiHarness, body: dict[str, str], status: int, error: str
) -> None:
    add_user(api)
    payload = {"username": "dewi", "full_name": "Dewi", "role": "agent", "password": PASSWORD}
    response = api.client.post("/users", headers=api.headers(Role.admin), json=payload | body)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_only_admins_manage_users(api: ApiHarness) -> None:
    assert api.client.get("/users", headers=api.headers(Role.supervisor)).status_code == 403


def test_cli_creates_the_first_admin(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastapi.testclient import TestClient

    from api.cli import main
    from api.core.settings import ApiSettings
    from api.main import create_app

    monkeypatch.setenv("LAPOR_API_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LAPOR_ADMIN_PASSWORD", PASSWORD)
    assert main(["user", "create-admin", "--username", "admin"]) == 0
    assert main(["user", "create-admin", "--username", "admin"]) == 1
    assert "taken" in capsys.readouterr().err
    with TestClient(create_app(ApiSettings(database_url=sqlite_url))) as client:
        response = client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    assert response.json()["role"] == "admin"


@pytest.mark.parametrize("role", ["gateway", "ivr", "collector", "monitoring"])
def test_a_password_user_never_gets_a_service_role(api: ApiHarness, role: str) -> None:
    user = add_user(api, "budi")
    response = api.client.patch(
        f"/users/{user.id}", headers=api.headers(Role.admin), json={"role": role}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    status, body = log_in(api, "budi", PASSWORD)
    assert (status, body["role"]) == (200, "agent")


def test_a_password_user_with_a_service_role_from_before_cannot_log_in(api: ApiHarness) -> None:
    """A user given a service role before that was refused can't post as the gateway."""
    user = add_user(api, "budi")
    with Session(api.engine) as session:
        stored = session.get(User, user.id)
        assert stored is not None
        stored.role = Role.gateway
        session.add(stored)
        session.commit()
    status, body = log_in(api, "budi", PASSWORD)
    assert (status, body["error"]) == (401, "bad_credentials")
