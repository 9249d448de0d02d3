"""The recording download: authorised roles only, HTTP Range, no way out of its folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session

from api.complaints.models import Complaint
from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.conftest import ApiHarness
from tests.integration.test_complaints_api import complaint

# A recognisable byte pattern: every slice of it is checkable.
AUDIO = bytes(range(256)) * 64


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "01000001.wav").write_bytes(AUDIO)
    (tmp_path / "secret.txt").write_text("not a recording")
    return folder


@pytest.fixture
def api(database_url: str, recordings: Path) -> Iterator[ApiHarness]:
    app = create_app(ApiSettings(database_url=database_url, recordings_dir=recordings))
    engine: Engine = app.state.engine
    upgrade(engine)
    with TestClient(app) as client:
        harness = ApiHarness(client, engine)
        stored = client.post(
            "/complaints",
            json=complaint(recording_path="/var/spool/asterisk/lapor/01000001.wav"),
            headers=harness.headers(Role.ivr),
        )
        assert stored.status_code == 201
        yield harness


def test_staff_download_the_whole_recording(api: ApiHarness) -> None:
    response = api.client.get("/complaints/01000001/recording", headers=api.headers(Role.agent))
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == AUDIO


def test_a_range_request_gets_just_those_bytes(api: ApiHarness) -> None:
    headers = {**api.headers(Role.supervisor), "Range": "bytes=1000-1999"}
    response = api.client.get("/complaints/01000001/recording", headers=headers)
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(AUDIO)}"
    assert response.content == AUDIO[1000:2000]
    tail = api.client.get(
        "/complaints/01000001/recording",
        headers={**api.headers(Role.supervisor), "Range": "bytes=-10"},
    )
    assert tail.content == AUDIO[-10:]
    beyond = api.client.get(
        "/complaints/01000001/recording",
        headers={**api.headers(Role.supervisor), "Range": f"bytes={len(AUDIO) + 5}-"},
    )
    assert beyond.status_code == 416


def test_roles_without_business_with_recordings_are_refused(api: ApiHarness) -> None:
    assert api.client.get("/complaints/01000001/recording").status_code == 401
    for role in (Role.ivr, Role.collector):
        response = api.client.get("/complaints/01000001/recording", headers=api.headers(role))
        assert response.status_code == 403
    # A unit hears only the complaints assigned to it.
    unit = api.client.get("/complaints/01000001/recording", headers=api.headers(Role.unit))
    assert unit.status_code == 404


@pytest.mark.parametrize(
    "stored_path",
    ["/var/spool/asterisk/lapor/../../../secret.txt", "../secret.txt", "/etc/passwd"],
)
def test_a_stored_path_cant_reach_outside_the_recordings_folder(
    api: ApiHarness, stored_path: str
) -> None:
    # The API refuses such paths on creation; this one was planted in the database.
    with Session(api.engine) as session:
        session.exec(update(Complaint).values(recording_path=stored_path))
        session.commit()
    response = api.client.get("/complaints/01000001/recording", headers=api.headers(Role.agent))
    assert response.status_code == 404
    assert b"not a recording" not in response.content


def test_creating_a_complaint_with_a_climbing_path_is_422(api: ApiHarness) -> None:
    body = complaint("01000002", recording_path="/var/spool/asterisk/lapor/../../etc/passwd")
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 422


@pytest.mark.parametrize("ticket", ["..%2F..%2Fsecret.txt", "%2e%2e", "01000001.wav"])
def test_a_crafted_ticket_in_the_url_is_refused(api: ApiHarness, ticket: str) -> None:
    response = api.client.get(f"/complaints/{ticket}/recording", headers=api.headers(Role.agent))
    assert response.status_code in (404, 422)
    assert b"not a recording" not in response.content
