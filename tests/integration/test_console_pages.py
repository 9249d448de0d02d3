"""The officers' console over HTTP (no browser): sessions, CSRF, roles, the screen pop's
content, the complaint form and the pushes ingest publishes. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from api.complaints.models import Complaint, ComplaintHistory
from api.core.auth import ApiToken, Role, create_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.live.models import LiveEvent
from api.main import create_app
from api.people.users import create_user
from tests.browser.server import serving
from tests.integration.event_factory import FakeCall, ami
from tests.integration.test_agents_console import add_complaint
from tests.people import PASSWORD, add_agent


@pytest.fixture
def app_engine(database_url: str) -> Iterator[tuple[TestClient, Engine]]:
    # Port 1: nothing listens there, so every AMI command fails to connect.
    app = create_app(ApiSettings(database_url=database_url, ami_port=1))
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001", full_name="Siti Aminah")
        create_user(
            session,
            username="sri",
            password=PASSWORD,
            role=Role.supervisor,
            full_name="Sri",
        )
    with TestClient(app, follow_redirects=False) as client:
        yield client, app.state.engine


@pytest.fixture
def client(app_engine: tuple[TestClient, Engine]) -> TestClient:
    return app_engine[0]


def sign_in(client: TestClient, username: str = "siti") -> str:
    """Sign in through the form; return the page's CSRF token."""
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], follow_redirects=True)
    match = re.search(r'data-csrf="([0-9a-f]{64})"', page.text)
    return match.group(1) if match else ""


def test_sign_in_sets_a_strict_http_only_cookie_and_opens_the_console(client: TestClient) -> None:
    response = client.post("/login", data={"username": "siti", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http on loopback
    page = client.get("/console")
    assert page.status_code == 200
    assert "Siti Aminah" in page.text
    assert "Tidak dalam antrean" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_the_cookie_is_secure_over_https(app_engine: tuple[TestClient, Engine]) -> None:
    app = app_engine[0].app
    client = TestClient(app, base_url="https://lapor.example", follow_redirects=False)
    response = client.post("/login", data={"username": "siti", "password": PASSWORD})
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_is_refused_in_indonesian_and_locks_out(client: TestClient) -> None:
    for _ in range(5):
        response = client.post("/login", data={"username": "siti", "password": "salah-salah"})
        assert response.status_code == 401
        assert "Nama pengguna atau kata sandi salah." in response.text
        assert "set-cookie" not in response.headers
    locked = client.post("/login", data={"username": "siti", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Terlalu banyak percobaan gagal" in locked.text


def test_an_oversize_field_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"username": "x" * 65, "password": "p"})
    assert response.status_code == 422


def test_without_a_session_pages_send_to_sign_in(client: TestClient) -> None:
    response = client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console"
    fragment = client.get(
        "/console/status",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/console"},
    )
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/login?next=/console"
    assert client.get("/console/events").status_code == 303


def test_an_expired_session_says_so(app_engine: tuple[TestClient, Engine]) -> None:
    client, engine = app_engine
    sign_in(client)
    with Session(engine) as session:
        session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    response = client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/console&reason=expired"
    page = client.get(response.headers["location"])
    assert "Sesi Anda telah berakhir" in page.text


def test_signing_out_ends_the_session(client: TestClient) -> None:
    csrf = sign_in(client)
    session_cookie = client.cookies.get("lapor_session")
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?reason=signed_out"
    client.cookies.set("lapor_session", session_cookie or "")
    assert client.get("/console").headers["location"].endswith("reason=expired")


def test_a_forged_cross_site_post_is_refused(client: TestClient) -> None:
    csrf = sign_in(client)
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf},
        {"Origin": "https://evil.example", "X-CSRF-Token": csrf},
        {},  # same site, but no CSRF token
        {"X-CSRF-Token": "0" * 64},
    ):
        response = client.post("/console/queue/join", headers=headers)
        assert response.status_code == 403, headers
        assert "Permintaan ditolak" in response.text
    forged_login = client.post(
        "/login",
        data={"username": "siti", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert forged_login.status_code == 403


def test_with_its_token_an_action_reaches_asterisk(client: TestClient) -> None:
    csrf = sign_in(client)
    response = client.post(
        "/console/queue/join", headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin"}
    )
    # Nothing listens on the AMI port: the officer is told, in Indonesian.
    assert response.status_code == 503
    assert "Asterisk tidak dapat dihubungi" in response.text


def test_a_pause_reason_must_come_from_the_list(client: TestClient) -> None:
    csrf = sign_in(client)
    response = client.post(
        "/console/queue/pause", data={"reason": "ngopi, Action: Originate", "csrf_token": csrf}
    )
    assert response.status_code == 422


def test_other_roles_get_no_console(client: TestClient) -> None:
    sign_in(client, "sri")
    assert client.get("/home").headers["location"] == "/wallboard"
    refused = client.get("/console")
    assert refused.status_code == 403
    assert "Peran Anda tidak boleh" in refused.text


def test_the_screen_pop_shows_the_call_ticket_and_history_under_every_spelling(
    app_engine: tuple[TestClient, Engine],
) -> None:
    client, engine = app_engine
    with Session(engine) as session:
        add_complaint(session, "12000001", "6281211112222", hours_ago=48)
        add_complaint(session, "12000002", "081211112222", hours_ago=0)
        add_complaint(session, "12000003", "089900000000", hours_ago=1)
    call = FakeCall(
        "+6281211112222",
        datetime.now(UTC) - timedelta(minutes=1),
        "answered",
        agent="siti",
        category="infrastruktur",
        ticket="12000002",
    )
    token = _service_token(engine)
    assert client.post("/events", json={"events": call.events}, headers=token).status_code == 200
    sign_in(client)
    panel = client.get(f"/console/calls/{call.uniqueid}")
    assert panel.status_code == 200
    text = panel.text
    assert "0812-1111-2222" in text
    assert 'id="caller-ticket">12000002<' in text
    assert "Infrastruktur" in text
    assert "12000001" in text  # the earlier complaint, filed under 62…
    assert "12000003" not in text  # another citizen
    form = client.get(f"/console/form/{call.uniqueid}")
    assert 'id="form-ticket">12000002<' in form.text


def _service_token(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {"Authorization": f"Bearer {create_token(session, name='c', role=Role.collector)}"}


def test_a_ring_is_pushed_to_that_officer_once(app_engine: tuple[TestClient, Engine]) -> None:
    client, engine = app_engine
    at = datetime.now(UTC)
    ring = ami("AgentCalled", at, MemberName="siti", Linkedid="1795.1", Uniqueid="1795.1")
    token = _service_token(engine)
    for _ in range(2):  # delivered twice: stored once, pushed once
        assert client.post("/events", json={"events": [ring]}, headers=token).status_code == 200
    with Session(engine) as session:
        pushes = session.exec(select(LiveEvent).where(LiveEvent.topic == "agent:siti")).all()
    assert [(p.kind, p.data["linkedid"]) for p in pushes] == [("ring", "1795.1")]


def test_the_officer_completes_the_complaint_and_the_trail_names_them(
    app_engine: tuple[TestClient, Engine],
) -> None:
    client, engine = app_engine
    with Session(engine) as session:
        add_complaint(session, "12000002", "081211112222", hours_ago=0)
    csrf = sign_in(client)
    response = client.post(
        "/console/complaints/12000002",
        data={
            "csrf_token": csrf,
            "category": "kependudukan",
            "location": "Jl. Teuku Umar",
            "summary": "Lampu jalan mati",
            "notes": "Warga minta dikabari",
        },
    )
    assert response.status_code == 200
    assert "Tersimpan." in response.text
    with Session(engine) as session:
        complaint = session.exec(select(Complaint).where(Complaint.ticket == "12000002")).one()
        assert (complaint.category, complaint.location) == ("kependudukan", "Jl. Teuku Umar")
        trail = session.exec(
            select(ComplaintHistory).where(ComplaintHistory.complaint_id == complaint.id)
        ).all()
    assert [row.actor for row in trail] == ["siti"]
    assert "note: Warga minta dikabari" in trail[0].note
    assert "category: infrastruktur -> kependudukan" in trail[0].note


def test_a_new_complaint_filed_twice_by_one_form_is_one_complaint(
    app_engine: tuple[TestClient, Engine],
) -> None:
    client, engine = app_engine
    csrf = sign_in(client)
    form = {
        "csrf_token": csrf,
        "request_key": "ab" * 16,
        "caller_number": "081299998888",
        "category": "lainnya",
        "summary": "Pohon tumbang",
    }
    first = client.post("/console/complaints", data=form)
    second = client.post("/console/complaints", data=form)
    assert first.status_code == second.status_code == 201
    ticket = re.search(r'id="form-ticket">(\d{8})<', first.text)
    assert ticket is not None
    assert ticket.group(1) in second.text
    with Session(engine) as session:
        filed = session.exec(
            select(Complaint).where(col(Complaint.uniqueid).startswith("console-"))
        ).all()
    assert [(c.caller_number, c.summary) for c in filed] == [("081299998888", "Pohon tumbang")]
    bad = client.post(
        "/console/complaints",
        data={**form, "request_key": "cd" * 16, "caller_number": "not a number"},
    )
    assert bad.status_code == 422
    assert "Periksa isian formulir" in bad.text


async def test_open_consoles_hold_no_database_connection(database_url: str) -> None:
    """200 open consoles' streams (more than the pool's connections and the server's worker
    threads), and the API still answers."""
    app = create_app(ApiSettings(database_url=database_url, ami_port=1))
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_agent(session, "siti", "1001")
    streams = 200
    with serving(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            signed = await client.post("/login", data={"username": "siti", "password": PASSWORD})
            assert signed.status_code == 303
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(streams):
                    response = await stack.enter_async_context(
                        client.stream("GET", "/console/events")
                    )
                    assert response.status_code == 200
                    first = await anext(response.aiter_lines())
                    assert first.startswith(":")
                status = await client.get("/console/status")
                assert status.status_code == 200


def test_an_officer_records_what_the_dialplan_cant_know(
    app_engine: tuple[TestClient, Engine],
) -> None:
    client, engine = app_engine
    with Session(engine) as session:
        ivr = {"Authorization": f"Bearer {create_token(session, name='ivr', role=Role.ivr)}"}
    ids = []
    for number in ("081211110001", "081211110002"):
        now = datetime.now(UTC).isoformat()
        created = client.post(
            "/callbacks",
            headers=ivr,
            json={
                "request_id": f"req-{number}",
                "number": number,
                "line": "082282204761",
                "uniqueid": "1795890124.1",
                "queue_entered_at": now,
                "requested_at": now,
            },
        )
        assert created.status_code == 201, created.text
        ids.append(f"r{created.json()['id']}")
    csrf = sign_in(client)
    wrong = client.post(
        f"/console/callbacks/{ids[0]}/outcome", data={"csrf_token": csrf, "outcome": "wrong_number"}
    )
    later = client.post(
        f"/console/callbacks/{ids[1]}/outcome", data={"csrf_token": csrf, "outcome": "call_later"}
    )
    assert wrong.status_code == later.status_code == 200
    listed = client.get("/console/callbacks").text
    assert f'id="cb-{ids[0]}"' not in listed  # a wrong number leaves the list
    assert f'id="cb-{ids[1]}" data-outcome="call_later"' in listed  # still to call, marked
    assert f'id="outcome-{ids[0]}"' in listed
    assert "Nomor salah" in listed
    bogus = client.post(
        f"/console/callbacks/{ids[1]}/outcome", data={"csrf_token": csrf, "outcome": "reached"}
    )
    assert bogus.status_code == 422
    with Session(engine) as session:
        pushes = session.exec(select(LiveEvent).where(LiveEvent.topic == "callbacks")).all()
    assert [p.data["callback_id"] for p in pushes] == ids
