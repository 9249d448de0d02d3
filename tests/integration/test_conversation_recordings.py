"""Recorded conversations: learnt from the dialplan's UserEvent, served to the officer who
took the call, supervisors and admins only, with HTTP Range, never outside the recordings
folder; every playback and download of any recording is in the admins' audit log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events.models import CallRecording
from api.main import create_app
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall, ami
from tests.integration.test_complaints_api import complaint
from tests.people import PASSWORD, add_agent, add_people

AUDIO = bytes(range(256)) * 64
CITIZEN = b"citizen" * 100
OFFICER = "petugas-rekam"
TICKET = "01000007"


def recording_event(call: FakeCall, file: str, agent: str = OFFICER) -> dict[str, Any]:
    """The dialplan's report (asterisk_conf/extensions.conf [recording-report])."""
    at = call.at.replace(second=50)
    return ami(
        "UserEvent",
        at,
        call.node,
        Uniqueid=call.uniqueid,
        Linkedid=call.uniqueid,
        UserEvent="LaporRecording",
        File=file,
        Agent=agent,
    )


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("not a recording")
    (folder / f"{TICKET}.wav").write_bytes(AUDIO[::-1])
    return folder


@pytest.fixture
def call() -> FakeCall:
    at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    return FakeCall(
        "081234567890", at, "answered", agent=OFFICER, category="infrastruktur", ticket=TICKET
    )


@pytest.fixture
def api(database_url: str, recordings: Path, call: FakeCall) -> Iterator[ApiHarness]:
    app = create_app(ApiSettings(database_url=database_url, recordings_dir=recordings))
    engine: Engine = app.state.engine
    upgrade(engine)
    file = f"call-{call.uniqueid}.wav"
    (recordings / file).write_bytes(AUDIO)
    (recordings / f"call-{call.uniqueid}-citizen.wav").write_bytes(CITIZEN)
    with TestClient(app) as client:
        harness = ApiHarness(client, engine)
        collector = harness.headers(Role.collector)
        batch = [*call.events, recording_event(call, file)]
        assert client.post("/events", json={"events": batch}, headers=collector).status_code == 200
        stored = client.post(
            "/complaints",
            json=complaint(TICKET, recording_path=f"/var/spool/asterisk/lapor/{TICKET}.wav"),
            headers=harness.headers(Role.ivr),
        )
        assert stored.status_code == 201
        yield harness


def url(call: FakeCall) -> str:
    return f"/calls/{call.uniqueid}/recording"


def audit(api: ApiHarness) -> list[dict[str, Any]]:
    response = api.client.get("/audit/recordings", headers=api.headers(Role.admin))
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_the_officer_who_took_the_call_supervisors_and_admins_listen(
    api: ApiHarness, call: FakeCall
) -> None:
    for headers in (
        api.headers(Role.agent, name=OFFICER),
        api.headers(Role.supervisor),
        api.headers(Role.admin),
    ):
        response = api.client.get(url(call), headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/wav"
        assert response.content == AUDIO
    citizen = api.client.get(
        url(call), params={"leg": "citizen"}, headers=api.headers(Role.supervisor)
    )
    assert citizen.content == CITIZEN
    # The officer's own leg was not written in this test: not on this server.
    officer = api.client.get(
        url(call), params={"leg": "officer"}, headers=api.headers(Role.supervisor)
    )
    assert officer.status_code == 404


def test_everyone_else_is_refused(api: ApiHarness, call: FakeCall) -> None:
    assert api.client.get(url(call)).status_code == 401
    other = api.client.get(url(call), headers=api.headers(Role.agent, name="petugas-lain"))
    assert other.status_code == 403
    for role in (Role.leadership, Role.unit, Role.ivr, Role.collector):
        assert api.client.get(url(call), headers=api.headers(role)).status_code == 403
    assert audit(api) == []


def test_one_audit_entry_per_playback_not_per_range_request(
    api: ApiHarness, call: FakeCall
) -> None:
    headers = api.headers(Role.supervisor, name="sri-supervisor")
    start = api.client.get(url(call), headers={**headers, "Range": "bytes=0-"})
    assert start.status_code == 206
    for offset in (1000, 5000, 9000):
        seek = api.client.get(url(call), headers={**headers, "Range": f"bytes={offset}-"})
        assert seek.status_code == 206
        assert seek.content == AUDIO[offset:]
    download = api.client.get(url(call), params={"node": call.node}, headers=headers)
    assert download.status_code == 200
    rows = audit(api)
    assert len(rows) == 2
    assert {row["username"] for row in rows} == {"sri-supervisor"}
    assert {row["kind"] for row in rows} == {"conversation"}
    assert {row["subject"] for row in rows} == {f"{call.node}/{call.uniqueid}"}
    assert {row["file"] for row in rows} == {f"call-{call.uniqueid}.wav"}
    assert {row["route"] for row in rows} == {url(call)}


def test_complaint_recordings_are_audited_too(api: ApiHarness) -> None:
    headers = api.headers(Role.agent, name="petugas-dengar")
    path = f"/complaints/{TICKET}/recording"
    assert api.client.get(path, headers=headers).content == AUDIO[::-1]
    assert api.client.get(path, headers={**headers, "Range": "bytes=100-"}).status_code == 206
    [row] = audit(api)
    assert (row["username"], row["role"], row["kind"]) == ("petugas-dengar", "agent", "complaint")
    assert (row["subject"], row["file"], row["route"]) == (TICKET, f"{TICKET}.wav", path)


def test_only_admins_read_the_audit(api: ApiHarness) -> None:
    for role in (Role.supervisor, Role.agent, Role.leadership):
        response = api.client.get("/audit/recordings", headers=api.headers(role))
        assert response.status_code == 403


def test_a_repeated_report_is_one_recording(api: ApiHarness, call: FakeCall) -> None:
    again = recording_event(call, f"call-{call.uniqueid}.wav")
    collector = api.headers(Role.collector)
    assert (
        api.client.post("/events", json={"events": [again]}, headers=collector).status_code == 200
    )
    with Session(api.engine) as session:
        rows = session.exec(select(CallRecording)).all()
    assert [(r.linkedid, r.agent) for r in rows] == [(call.uniqueid, OFFICER)]


@pytest.mark.parametrize("file", ["../secret.txt", "call-../../secret.txt", "/etc/passwd"])
def test_a_reported_file_outside_the_pattern_is_not_kept(api: ApiHarness, file: str) -> None:
    other = FakeCall("081200000001", datetime(2026, 11, 30, 4, tzinfo=UTC), "answered")
    events = [*other.events, recording_event(other, file)]
    assert api.client.post(
        "/events", json={"events": events}, headers=api.headers(Role.collector)
    ).is_success
    response = api.client.get(url(other), headers=api.headers(Role.admin))
    assert response.status_code == 404


@pytest.mark.parametrize("stored", ["../secret.txt", "/x/../../secret.txt", ".."])
def test_a_planted_file_name_cant_leave_the_folder(
    api: ApiHarness, call: FakeCall, stored: str
) -> None:
    with Session(api.engine) as session:
        session.exec(update(CallRecording).values(file=stored))
        session.commit()
    for leg in ("both", "citizen"):
        response = api.client.get(url(call), params={"leg": leg}, headers=api.headers(Role.admin))
        assert response.status_code == 404
        assert b"not a recording" not in response.content


@pytest.mark.parametrize("linkedid", ["..%2F..%2Fsecret.txt", "%2e%2e", "a%00b"])
def test_a_crafted_linkedid_in_the_url_is_refused(api: ApiHarness, linkedid: str) -> None:
    response = api.client.get(f"/calls/{linkedid}/recording", headers=api.headers(Role.admin))
    assert response.status_code in (404, 422)
    assert b"not a recording" not in response.content


def sign_in(api: ApiHarness, username: str) -> None:
    response = api.client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def test_the_console_plays_the_officers_own_conversations_only(
    api: ApiHarness, call: FakeCall
) -> None:
    with Session(api.engine) as session:
        add_agent(session, OFFICER)
        add_agent(session, "petugas-lain")
    path = f"/console/calls/{call.uniqueid}/recording"
    sign_in(api, "petugas-lain")
    assert api.client.get(path).status_code == 403
    page = api.client.get(f"/console/calls/{call.uniqueid}")
    assert page.status_code == 200
    assert 'id="conversation"' not in page.text
    sign_in(api, OFFICER)
    page = api.client.get(f"/console/calls/{call.uniqueid}")
    assert f'src="{path}?node={call.node}"' in page.text
    assert 'preload="none"' in page.text
    assert api.client.get(path, params={"node": call.node}).content == AUDIO
    assert api.client.get(f"/console/recordings/{TICKET}").content == AUDIO[::-1]
    rows = audit(api)
    assert [(r["username"], r["kind"], r["route"]) for r in rows] == [
        (OFFICER, "complaint", f"/console/recordings/{TICKET}"),
        (OFFICER, "conversation", path),
    ]


def test_the_desk_plays_conversations_to_supervisors_and_admins(
    api: ApiHarness, call: FakeCall
) -> None:
    with Session(api.engine) as session:
        add_people(session, {"sri": (Role.supervisor, None), "wali": (Role.leadership, None)})
    path = f"/desk/calls/{call.uniqueid}/recording"
    sign_in(api, "wali")
    page = api.client.get(f"/desk/complaints/{TICKET}")
    assert page.status_code == 200
    assert path not in page.text
    assert api.client.get(path).status_code == 403
    # Leadership hears the citizen's complaint, as the API allows.
    assert api.client.get(f"/desk/complaints/{TICKET}/recording").content == AUDIO[::-1]
    sign_in(api, "sri")
    page = api.client.get(f"/desk/complaints/{TICKET}")
    assert f'src="{path}?node={call.node}"' in page.text
    assert api.client.get(path, headers={"Range": "bytes=0-99"}).content == AUDIO[:100]
    rows = audit(api)
    assert [(r["username"], r["kind"]) for r in rows] == [
        ("sri", "conversation"),
        ("wali", "complaint"),
    ]


def test_admins_see_the_audit_page(api: ApiHarness, call: FakeCall) -> None:
    with Session(api.engine) as session:
        add_people(session, {"sri": (Role.supervisor, None), "adi": (Role.admin, None)})
    sign_in(api, "sri")
    assert api.client.get(f"/desk/calls/{call.uniqueid}/recording").status_code == 200
    assert api.client.get("/desk/audit").status_code == 403
    assert "/desk/audit" not in api.client.get("/desk").text
    sign_in(api, "adi")
    assert "/desk/audit" in api.client.get("/desk").text
    page = api.client.get("/desk/audit")
    assert page.status_code == 200
    [row] = re.findall(r"<tr><td>.*?</tr>", page.text, re.S)
    assert "sri" in row
    assert f"{call.node}/{call.uniqueid}" in row
    assert "Percakapan" in row
