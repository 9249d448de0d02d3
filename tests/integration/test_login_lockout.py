"""The login lock-out: per username and client address, race-free, bounded and purged.

The race is tested over real HTTP (uvicorn on a loopback port, 50 requests at once from
threads); the other addresses are real ones (127.0.0.2 is loopback too on Linux).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.core.auth import Role
from api.people.users import LoginAttempt, client_key, create_user
from tests.conftest import ApiHarness
from tests.e2e.services import ApiProcess, started
from tests.integration.test_collector import ApiServer
from tests.people import PASSWORD

PARALLEL = 50
MAX_FAILURES = 5  # LAPOR_API_LOGIN_MAX_FAILURES' default


@pytest.fixture
def served(database_url: str) -> Iterator[ApiServer]:
    server = ApiServer(database_url)
    with Session(server.app.state.engine) as session:
        create_user(
            session, username="admin", password=PASSWORD, role=Role.admin, full_name="Admin"
        )
    with started(server):
        yield server


def attempts(engine: Engine) -> list[LoginAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(LoginAttempt).order_by(col(LoginAttempt.id))).all())


def wrong_once(client: httpx.Client) -> int:
    form = {"username": "admin", "password": "one-more-guess"}
    return client.post("/auth/login", data=form).status_code


def test_parallel_wrong_logins_check_at_most_the_limit(served: ApiServer) -> None:
    start = threading.Barrier(PARALLEL)
    limits = httpx.Limits(max_connections=PARALLEL)
    with httpx.Client(base_url=served.url, timeout=60, limits=limits) as client:

        def wrong(n: int) -> int:
            start.wait()
            form = {"username": "admin", "password": f"guess-number-{n}"}
            return client.post("/auth/login", data=form).status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            statuses = Counter(pool.map(wrong, range(PARALLEL)))
        # Only a 401 had its password checked; every other attempt was refused unchecked.
        assert set(statuses) <= {401, 429}, statuses
        assert 1 <= statuses[401] <= MAX_FAILURES, statuses
        # A race may refuse more than needed, never fewer: one by one, the rest of the
        # limit is checked, then the lock holds, even for the right password.
        checked = statuses[401]
        while (status := wrong_once(client)) == 401:
            checked += 1
        assert (status, checked) == (429, MAX_FAILURES)
        right = {"username": "admin", "password": PASSWORD}
        assert client.post("/auth/login", data=right).status_code == 429
    # The refused attempts left no rows behind.
    failures = [a for a in attempts(served.app.state.engine) if not a.succeeded]
    assert len(failures) == MAX_FAILURES
    assert {a.client for a in failures} == {"127.0.0.1"}
    # The real admin, from another address, is not locked out by the attacker's.
    other = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=served.url, timeout=60, transport=other) as client:
        response = client.post("/auth/login", data=right)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"


def test_lockout_is_per_username_and_address(api: ApiHarness) -> None:
    with Session(api.engine) as session:
        create_user(session, username="siti", password=PASSWORD, role=Role.agent, full_name="S")
    app = api.client.app

    def log_in(host: str, password: str, username: str = "siti") -> int:
        form = {"username": username, "password": password}
        client = TestClient(app, client=(host, 40000))
        try:
            return client.post("/auth/login", data=form).status_code
        finally:
            client.close()

    for _ in range(MAX_FAILURES):
        assert log_in("2001:db8:0:1::1", "wrong-password") == 401
    # Locked: that address, and its /64 (one subscriber's), even with the right password.
    assert log_in("2001:db8:0:1::1", PASSWORD) == 429
    assert log_in("2001:db8:0:1::ffff", PASSWORD) == 429
    # Not locked: another /64, another IPv4 address, another username from the same /64.
    assert log_in("2001:db8:0:2::1", PASSWORD) == 200
    assert log_in("198.51.100.7", PASSWORD) == 200
    assert log_in("2001:db8:0:1::1", "wrong-password", username="nobody") == 401


def test_client_keys() -> None:
    assert client_key("198.51.100.7") == "198.51.100.7"
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert client_key("2001:db8:0:1:aaaa::1") == "2001:db8:0:1::/64"
    assert client_key(None) == ""
    assert client_key("x" * 500) == "x" * 64


@pytest.mark.parametrize(
    "form",
    [
        {"username": "u" * 1_000_000, "password": "wrong-password"},
        {"username": "u" * 65, "password": "wrong-password"},
        {"username": "admin", "password": "p" * 257},
    ],
    ids=["1MB-username", "65-char-username", "257-char-password"],
)
def test_oversize_login_fields_are_refused_and_nothing_stored(
    api: ApiHarness, form: dict[str, str]
) -> None:
    response = api.client.post("/auth/login", data=form)
    assert response.status_code == 422, response.text
    assert attempts(api.engine) == []


def test_the_longest_username_is_stored_whole(api: ApiHarness) -> None:
    name = "u" * 64
    response = api.client.post("/auth/login", data={"username": name, "password": "x"})
    assert response.status_code == 401
    assert [a.username for a in attempts(api.engine)] == [name]


def test_attempts_older_than_the_window_are_purged_on_the_next_login(api: ApiHarness) -> None:
    old = datetime.now(UTC) - timedelta(minutes=16)
    with Session(api.engine) as session:
        for n in range(3):
            session.add(LoginAttempt(username=f"old-{n}", client="", at=old, succeeded=False))
        session.add(LoginAttempt(username="recent", client="", succeeded=False))
        session.commit()
    form = {"username": "someone", "password": "wrong-password"}
    assert api.client.post("/auth/login", data=form).status_code == 401
    assert sorted(a.username for a in attempts(api.engine)) == ["recent", "someone"]


def test_behind_a_proxy_the_forwarded_address_counts(tmp_path: Path) -> None:
    """lapor-api trusts X-Forwarded-For only from LAPOR_API_FORWARDED_ALLOW_IPS."""
    proxy = {"LAPOR_API_FORWARDED_ALLOW_IPS": "127.0.0.2"}
    process = ApiProcess(f"sqlite:///{tmp_path / 'lapor.db'}", tmp_path / "api.log", proxy)
    process.start()
    try:
        for source in ("127.0.0.2", "127.0.0.1"):
            transport = httpx.HTTPTransport(local_address=source)
            with httpx.Client(base_url=process.url, transport=transport) as client:
                response = client.post(
                    "/auth/login",
                    data={"username": f"from-{source}", "password": "wrong-password"},
                    headers={"X-Forwarded-For": "203.0.113.5"},
                )
            assert response.status_code == 401
        clients = {a.username: a.client for a in attempts(process.engine)}
    finally:
        process.close()
    # From the proxy, the address it forwarded; from anyone else, their own.
    assert clients == {"from-127.0.0.2": "203.0.113.5", "from-127.0.0.1": "127.0.0.1"}
