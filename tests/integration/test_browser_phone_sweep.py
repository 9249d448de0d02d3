"""Browser phone passwords don't outlive their console session: the sweep revokes a
credential whose session expired or was revoked, keeps one whose session is live, and
keeps one Asterisk could not be told about pending until a later sweep gets through.
SQLite and PostgreSQL.

The AMI side is either an injected revoke (the sweep's decisions) or a real AMI client on
a port where nothing listens (Asterisk down); the real AstDB round trip is the e2e test's.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.core.ami_control import AmiCommandError
from api.core.auth import ApiToken, Role, issue_token, revoke_token
from api.core.clock import utc_now
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.people.phone_credentials import BrowserPhoneCredential, forget, record_issued
from api.people.phone_sweep import ami_revoke, sweep
from tests.people import PASSWORD, add_agent

WS_URL = "ws://127.0.0.1:8088/ws"


def dead_port() -> int:
    """A loopback port nobody listens on: Asterisk is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def settings_for(database_url: str, sweep_seconds: float = 180.0) -> ApiSettings:
    return ApiSettings(
        database_url=database_url,
        ami_port=dead_port(),
        webrtc_ws_url=WS_URL,
        browser_phone_sweep_seconds=sweep_seconds,
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    app = create_app(settings_for(database_url))
    upgrade(app.state.engine)
    yield app.state.engine
    app.state.engine.dispose()


def session_of(engine: Engine, username: str, extension: str) -> int:
    """An officer on ``extension`` with a console session token; its id."""
    with Session(engine) as session:
        user = add_agent(session, username, extension)
        assert user.id is not None
        record = issue_token(
            session, name=username, role=Role.agent, user_id=user.id, expires_in=timedelta(hours=8)
        )[1]
        assert record.id is not None
        record_issued(
            session,
            endpoint=f"{extension}-web",
            user_id=user.id,
            token_id=record.id,
            at=utc_now(),
        )
        return record.id


def expire(engine: Engine, token_id: int) -> None:
    with Session(engine) as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(token)
        session.commit()


def endpoints(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(BrowserPhoneCredential).order_by(col(BrowserPhoneCredential.endpoint))
        ).all()
        return [row.endpoint for row in rows]


class Asterisk:
    """The injected revoke: records what it was asked, fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.asked: list[str] = []

    async def revoke(self, endpoint: str) -> None:
        self.asked.append(endpoint)
        if self.down:
            raise AmiCommandError("Asterisk unreachable: connection refused")


def test_expired_and_revoked_sessions_lose_their_credential_live_ones_keep_it(
    engine: Engine,
) -> None:
    expired = session_of(engine, "rina", "1001")
    signed_out = session_of(engine, "budi", "1002")
    session_of(engine, "sari", "1003")
    expire(engine, expired)
    with Session(engine) as session:
        revoke_token(session, token_id=signed_out)
    asterisk = Asterisk()

    done = asyncio.run(sweep(engine, asterisk.revoke))
    assert sorted(asterisk.asked) == ["1001-web", "1002-web"]
    assert sorted(done.revoked) == ["1001-web", "1002-web"]
    assert endpoints(engine) == ["1003-web"]
    assert asyncio.run(sweep(engine, asterisk.revoke)).revoked == []  # nothing left to do


def test_a_credential_asterisk_did_not_take_back_stays_pending_and_is_retried(
    engine: Engine,
) -> None:
    expire(engine, session_of(engine, "rina", "1001"))
    asterisk = Asterisk()
    asterisk.down = True
    for _ in range(2):
        assert asyncio.run(sweep(engine, asterisk.revoke)).pending == ["1001-web"]
        assert endpoints(engine) == ["1001-web"]
    asterisk.down = False
    assert asyncio.run(sweep(engine, asterisk.revoke)).revoked == ["1001-web"]
    assert asterisk.asked == ["1001-web"] * 3
    assert endpoints(engine) == []


def test_a_credential_issued_again_meanwhile_is_not_forgotten(engine: Engine) -> None:
    token_id = session_of(engine, "rina", "1001")
    with Session(engine) as session:
        old = session.exec(select(BrowserPhoneCredential)).one().issued_at
        user_id = session.exec(select(BrowserPhoneCredential)).one().user_id
        record_issued(
            session,
            endpoint="1001-web",
            user_id=user_id,
            token_id=token_id,
            at=utc_now() + timedelta(seconds=1),
        )
        forget(session, "1001-web", old)
    assert endpoints(engine) == ["1001-web"]


def test_the_real_ami_client_with_asterisk_down_leaves_it_pending(
    database_url: str, engine: Engine
) -> None:
    expire(engine, session_of(engine, "rina", "1001"))
    done = asyncio.run(sweep(engine, ami_revoke(settings_for(database_url))))
    assert done.pending == ["1001-web"]
    assert endpoints(engine) == ["1001-web"]


def test_the_served_app_sweeps_a_session_that_ended_and_retries_while_asterisk_is_down(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(database_url, sweep_seconds=0.05)
    app = create_app(settings, background=True)
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "rina", "1001")
    caplog.set_level(logging.WARNING, logger="uvicorn.error")
    with TestClient(app, follow_redirects=False) as client:
        signed_in = client.post("/login", data={"username": "rina", "password": PASSWORD})
        assert signed_in.status_code == 303, signed_in.text
        page = client.get("/console")
        csrf = re.search(r'data-csrf="([0-9a-f]{64})"', page.text)
        assert csrf is not None
        # Asterisk is down: no credential for the page, but its issue is on record.
        issued = client.post("/console/phone/credential", headers={"X-CSRF-Token": csrf[1]})
        assert issued.status_code == 503, issued.text
        assert endpoints(app.state.engine) == ["1001-web"]
        time.sleep(0.3)  # the session is live: swept past, never tried
        assert "1001-web" not in caplog.text
        with Session(app.state.engine) as session:
            token_id = session.exec(select(BrowserPhoneCredential)).one().token_id
        expire(app.state.engine, token_id)
        deadline = time.monotonic() + 10
        while caplog.text.count("browser phone 1001-web: session over, not revoked yet") < 2:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
        assert endpoints(app.state.engine) == ["1001-web"]
    app.state.engine.dispose()
