"""Attachments on a unit's closing note, over the API and the desk: stored byte for byte,
typed by their first bytes, bounded in size, only for the unit of the order, kept with the
closing or not at all, and still there after a restart. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.complaints.models import get_complaint
from api.complaints.service import history_of
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from tests.integration.test_agents_console import add_complaint
from tests.people import PASSWORD, add_people

TICKET = "12000051"
MAX_BYTES = 4096
PEOPLE = {
    "pu": (Role.unit, "dinas-pu"),
    "dlh": (Role.unit, "dlh"),
    "sri": (Role.supervisor, None),
    "walikota": (Role.leadership, None),
}
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp|pdf)$")


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG (red pixels): browsers draw it as a thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@dataclass
class Site:
    settings: ApiSettings
    client: TestClient

    @property
    def folder(self) -> Path:
        return self.settings.attachments_dir

    def token(self, username: str) -> dict[str, str]:
        response = self.client.post(
            "/auth/login", data={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def status(self) -> ComplaintStatus:
        with Session(self.client.app.state.engine) as session:  # type: ignore[attr-defined]
            return get_complaint(session, ticket=TICKET).status

    def files_on_disk(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir()) if self.folder.exists() else []


def make_settings(database_url: str, tmp_path: Path) -> ApiSettings:
    return ApiSettings(
        database_url=database_url,
        ami_port=1,
        attachments_dir=tmp_path / "attachments",
        attachment_max_bytes=MAX_BYTES,
        attachments_max_count=3,
    )


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    settings = make_settings(database_url, tmp_path)
    app = create_app(settings)
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_people(session, PEOPLE)
        add_complaint(session, TICKET, "081211112222", hours_ago=1)
        complaint = get_complaint(session, ticket=TICKET)
        complaint.status, complaint.unit = ComplaintStatus.ditindaklanjuti, "dinas-pu"
        complaint.reported_at = datetime.now(UTC)
        session.add(complaint)
        session.commit()
    with TestClient(app, follow_redirects=False) as client:
        yield Site(settings, client)


def upload(site: Site, username: str, *files: tuple[str, bytes, str]) -> tuple[int, object]:
    response = site.client.post(
        f"/complaints/{TICKET}/attachments",
        headers=site.token(username),
        files=[("files", one) for one in files],
    )
    return response.status_code, response.json()


def test_upload_and_download_round_trip_byte_for_byte(site: Site) -> None:
    photo = png()
    status, body = upload(
        site, "pu", ("jalan.png", photo, "image/png"), ("berita-acara.pdf", PDF, "text/plain")
    )
    assert status == 201, body
    assert isinstance(body, list)
    assert [(a["name"], a["media_type"], a["size"]) for a in body] == [
        ("jalan.png", "image/png", len(photo)),
        ("berita-acara.pdf", "application/pdf", len(PDF)),
    ]
    assert body[0]["sha256"] == hashlib.sha256(photo).hexdigest()
    assert body[0]["uploaded_by"] == "pu"

    headers = site.token("sri")
    listed = site.client.get(f"/complaints/{TICKET}/attachments", headers=headers).json()
    assert [a["id"] for a in listed] == [a["id"] for a in body]

    image = site.client.get(f"/complaints/{TICKET}/attachments/{body[0]['id']}", headers=headers)
    assert image.status_code == 200
    assert image.content == photo
    assert hashlib.sha256(image.content).hexdigest() == body[0]["sha256"]
    assert image.headers["content-type"] == "image/png"
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-disposition"].startswith("inline")
    document = site.client.get(f"/complaints/{TICKET}/attachments/{body[1]['id']}", headers=headers)
    assert document.content == PDF
    assert document.headers["content-type"] == "application/pdf"
    assert document.headers["content-disposition"].startswith("attachment")
    assert document.headers["x-content-type-options"] == "nosniff"
    # Ranges work as for recordings.
    part = site.client.get(
        f"/complaints/{TICKET}/attachments/{body[0]['id']}",
        headers={**headers, "Range": "bytes=0-7"},
    )
    assert part.status_code == 206
    assert part.content == photo[:8]

    history = site.client.get(f"/complaints/{TICKET}/history", headers=headers).json()
    assert history[-1]["actor"] == "pu"
    assert history[-1]["note"] == "attachments: jalan.png, berita-acara.pdf"
    assert history[-1]["attachments"] == [a["id"] for a in body]
    assert all(STORED_NAME.match(name) for name in site.files_on_disk())
    assert len(site.files_on_disk()) == 2


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"",
    ],
    ids=["html", "svg", "exe", "gif", "empty"],
)
def test_a_jpg_that_is_not_one_is_refused_and_nothing_is_kept(site: Site, content: bytes) -> None:
    status, body = upload(site, "pu", ("foto.jpg", content, "image/jpeg"))
    assert isinstance(body, dict)
    if content:
        assert (status, body["error"]) == (415, "unsupported_attachment_type")
    else:
        assert (status, body["error"]) == (422, "empty_attachment")
    assert site.files_on_disk() == []
    listed = site.client.get(f"/complaints/{TICKET}/attachments", headers=site.token("pu"))
    assert listed.json() == []


def test_oversize_is_refused_without_storing_anything(site: Site) -> None:
    exactly = b"%PDF-" + b"x" * (MAX_BYTES - 5)
    status, body = upload(site, "pu", ("a.pdf", png(), "image/png"), ("b.pdf", exactly + b"x", ""))
    assert isinstance(body, dict)
    assert (status, body["error"]) == (413, "attachment_too_large")
    assert site.files_on_disk() == []
    with Session(site.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert len(history_of(session, get_complaint(session, ticket=TICKET))) == 0
    status, _ = upload(site, "pu", ("b.pdf", exactly, ""))
    assert status == 201
    # A body past every attachment's limit and the form's overhead is cut off unread.
    huge = b"%PDF-" + b"x" * site.settings.upload_max_body_bytes
    status, body = upload(site, "pu", ("c.pdf", huge, ""))
    assert isinstance(body, dict)
    assert (status, body["error"]) == (413, "body_too_large")
    assert len(site.files_on_disk()) == 1


def test_at_most_the_limit_per_complaint(site: Site) -> None:
    assert upload(site, "pu", ("1.pdf", PDF, ""), ("2.pdf", PDF, ""))[0] == 201
    status, body = upload(site, "pu", ("3.pdf", PDF, ""), ("4.pdf", PDF, ""))
    assert isinstance(body, dict)
    assert (status, body["error"]) == (422, "too_many_attachments")
    assert len(site.files_on_disk()) == 2


def test_only_the_unit_of_the_order_and_the_back_office_may_attach_or_read(site: Site) -> None:
    status, body = upload(site, "dlh", ("x.png", png(), "image/png"))
    assert status == 404
    assert upload(site, "walikota", ("x.png", png(), "image/png"))[0] == 403
    status, body = upload(site, "sri", ("x.png", png(), "image/png"))
    assert status == 201
    assert isinstance(body, list)
    other_unit = site.token("dlh")
    url = f"/complaints/{TICKET}/attachments"
    assert site.client.get(url, headers=other_unit).status_code == 404
    assert site.client.get(f"{url}/{body[0]['id']}", headers=other_unit).status_code == 404
    assert site.client.get(f"{url}/{body[0]['id']}", headers=site.token("pu")).status_code == 200
    assert site.client.get(f"{url}/{body[0]['id']}").status_code == 401
    assert site.client.get(f"{url}/999", headers=site.token("pu")).status_code == 404


def test_a_path_in_the_file_name_is_harmless(site: Site, tmp_path: Path) -> None:
    names = ["../../../escaped.png", "..\\..\\win.png", "a<b>c|d.png"]
    status, body = upload(site, "pu", *((name, png(), "image/png") for name in names))
    assert status == 201, body
    assert isinstance(body, list)
    assert [a["name"] for a in body] == ["escaped.png", "win.png", "abcd.png"]
    assert not list(tmp_path.glob("**/escaped.png"))
    assert all(STORED_NAME.match(name) for name in site.files_on_disk())


def desk_csrf(site: Site, username: str) -> str:
    site.client.cookies.clear()
    response = site.client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303
    page = site.client.get("/desk").text
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert match
    return match.group(1)


def close(site: Site, csrf: str, *files: tuple[str, bytes, str]) -> tuple[int, str]:
    data = {"csrf_token": csrf, "to": "selesai", "note": "Jalan sudah ditambal"}
    url = f"/desk/complaints/{TICKET}/status"
    response = site.client.post(url, data=data, files=[("attachments", one) for one in files])
    if response.status_code == 303:
        response = site.client.get(response.headers["location"])
    return response.status_code, response.text


def test_a_refused_file_leaves_the_complaint_open_and_a_good_one_closes_it(site: Site) -> None:
    csrf = desk_csrf(site, "pu")
    form = site.client.get(f"/desk/complaints/{TICKET}").text
    assert 'enctype="multipart/form-data"' in form
    assert 'type="file"' in form

    status, page = close(site, csrf, ("foto.jpg", b"<html>bukan foto</html>", "image/jpeg"))
    assert status == 415
    assert "Lampiran harus berupa foto JPEG, PNG atau WebP" in page
    status, page = close(site, csrf, ("besar.png", png() + b"\x00" * MAX_BYTES, "image/png"))
    assert status == 413
    assert "Lampiran terlalu besar" in page
    assert site.status() is ComplaintStatus.ditindaklanjuti
    assert site.files_on_disk() == []
    with Session(site.client.app.state.engine) as session:  # type: ignore[attr-defined]
        assert history_of(session, get_complaint(session, ticket=TICKET)) == []

    # Without the CSRF field, a multipart post is refused like any other form.
    refused = site.client.post(
        f"/desk/complaints/{TICKET}/status",
        data={"to": "selesai", "note": "x"},
        files=[("attachments", ("a.png", png(), "image/png"))],
    )
    assert refused.status_code == 403
    assert site.status() is ComplaintStatus.ditindaklanjuti

    status, page = close(site, csrf, ("jalan.png", png(), "image/png"), ("ba.pdf", PDF, ""))
    assert status == 200
    assert site.status() is ComplaintStatus.selesai
    links = re.findall(rf'href="(/desk/complaints/{TICKET}/attachments/\d+)"', page)
    assert links
    assert 'class="thumb"' in page
    with Session(site.client.app.state.engine) as session:  # type: ignore[attr-defined]
        closing = history_of(session, get_complaint(session, ticket=TICKET))[-1]
    assert (closing.to_status, closing.note) == (ComplaintStatus.selesai, "Jalan sudah ditambal")
    history = site.client.get(f"/complaints/{TICKET}/history", headers=site.token("sri")).json()
    assert len(history[-1]["attachments"]) == 2
    assert site.client.get(links[0]).content == png()
    # Another unit's desk gets no file.
    desk_csrf(site, "dlh")
    assert site.client.get(links[0]).status_code == 404


def test_a_close_with_the_file_input_left_empty_still_works(site: Site) -> None:
    csrf = desk_csrf(site, "pu")
    # What a browser sends for a file input left empty: a part with an empty file name.
    parts = [
        ("csrf_token", "", csrf),
        ("to", "", "selesai"),
        ("note", "", "Jalan sudah ditambal"),
        ("attachments", '; filename=""', ""),
    ]
    body = "".join(
        f'--b0undary\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'
        for name, extra, value in parts
    )
    response = site.client.post(
        f"/desk/complaints/{TICKET}/status",
        content=(body + "--b0undary--\r\n").encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 303, response.text
    assert site.status() is ComplaintStatus.selesai
    assert site.files_on_disk() == []


def test_attachments_survive_a_restart(database_url: str, tmp_path: Path, site: Site) -> None:
    photo = png(3, 3)
    status, body = upload(site, "pu", ("jalan.png", photo, "image/png"))
    assert status == 201
    assert isinstance(body, list)
    site.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    again = create_app(make_settings(database_url, tmp_path))
    with TestClient(again) as client:
        response = client.post("/auth/login", data={"username": "pu", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        download = client.get(f"/complaints/{TICKET}/attachments/{body[0]['id']}", headers=headers)
    assert download.status_code == 200
    assert download.content == photo
