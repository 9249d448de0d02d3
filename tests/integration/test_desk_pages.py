"""The complaints desk over HTTP (no browser): who sees what, each action and its trail row,
refused moves shown as pages in Indonesian, CSRF, and the daily report behind the cookie.
SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.complaints.models import Complaint, ComplaintHistory, get_complaint
from api.complaints.service import history_of
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Role
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from api.people.users import create_user
from api.reports import service as reports
from tests.integration.test_agents_console import add_complaint
from tests.people import PASSWORD, add_people

CALLER = "081211112222"
MASKED = "0812******22"
PEOPLE = {
    "sri": (Role.supervisor, None),
    "walikota": (Role.leadership, None),
    "pu": (Role.unit, "dinas-pu"),
    "dlh": (Role.unit, "dlh"),
}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(ApiSettings(database_url=database_url, ami_port=1))
    upgrade(app.state.engine)
    with Session(app.state.engine) as session:
        add_people(session, PEOPLE)
        add_complaint(session, "12000001", CALLER, hours_ago=1)
        add_complaint(session, "12000002", "089900000000", hours_ago=2)
        # Taken long ago: past its 3-working-day deadline.
        add_complaint(session, "12000003", CALLER, hours_ago=24 * 10)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the form; return the CSRF token of the page landed on."""
    client.cookies.clear()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.text
    page = client.get("/desk")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert match
    return match.group(1)


def act(client: TestClient, csrf: str, ticket: str, **form: str) -> tuple[int, str]:
    """Post a status change as the page's form does; follow the redirect to the page."""
    response = client.post(f"/desk/complaints/{ticket}/status", data={"csrf_token": csrf, **form})
    if response.status_code == 303:
        assert response.headers["location"] == f"/desk/complaints/{ticket}"
        response = client.get(response.headers["location"])
    return response.status_code, response.text


def trail(client: TestClient, ticket: str) -> list[ComplaintHistory]:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        return history_of(session, get_complaint(session, ticket=ticket))


def test_leadership_and_units_land_on_the_desk(client: TestClient) -> None:
    for username in ("walikota", "pu"):
        client.cookies.clear()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.headers["location"] == "/desk"


def test_the_board_groups_by_status_counts_overdue_and_shows_full_numbers_to_supervisors(
    client: TestClient,
) -> None:
    sign_in(client, "sri")
    page = client.get("/desk").text
    diterima = page[page.index('id="column-diterima"') : page.index('id="column-diverifikasi"')]
    assert all(t in diterima for t in ("12000001", "12000002", "12000003"))
    assert "3 keluhan" in diterima
    assert "1 terlambat" in diterima
    assert diterima.count("complaint-card overdue") == 1
    assert CALLER in page
    assert MASKED not in page


def test_filters_and_search_use_the_api_filter(client: TestClient) -> None:
    sign_in(client, "sri")
    found = client.get("/desk", params={"text": "12000002"}).text
    assert "12000002" in found
    assert "12000001" not in found
    one_column = client.get("/desk", params={"status": "selesai"}).text
    assert 'id="column-selesai"' in one_column
    assert 'id="column-diterima"' not in one_column
    bad = client.get("/desk", params={"status": "hilang"})
    assert bad.status_code == 422
    assert "Saringan tidak valid" in bad.text


def test_leadership_sees_masked_numbers(client: TestClient) -> None:
    sign_in(client, "walikota")
    board = client.get("/desk").text
    assert MASKED in board
    assert CALLER not in board
    page = client.get("/desk/complaints/12000001").text
    assert MASKED in page
    assert CALLER not in page
    assert "0812-1111-2222" not in page


def test_the_whole_flow_leaves_a_trail_row_per_action(client: TestClient) -> None:
    csrf = sign_in(client, "sri")
    page = client.get("/desk/complaints/12000001").text
    assert 'id="action-diverifikasi"' in page
    assert 'id="action-ditindaklanjuti"' not in page
    status, page = act(client, csrf, "12000001", to="diverifikasi", note="Sudah dicek")
    assert status == 200
    assert "Sudah dicek" in page
    status, page = act(client, csrf, "12000001", to="dilaporkan")
    assert status == 200

    csrf = sign_in(client, "walikota")
    page = client.get("/desk/complaints/12000001").text
    assert 'id="action-ditindaklanjuti"' in page
    assert 'id="action-edit"' not in page
    status, page = act(
        client, csrf, "12000001", to="ditindaklanjuti", unit="dinas-pu", note="Perbaiki jalan"
    )
    assert status == 200
    assert "Dinas Pekerjaan Umum" in page

    csrf = sign_in(client, "pu")
    status, page = act(client, csrf, "12000001", to="selesai", note="Jalan sudah ditambal")
    assert status == 200
    rows = trail(client, "12000001")
    assert [(r.actor, r.role, r.from_status, r.to_status, r.note) for r in rows] == [
        ("sri", "supervisor", "diterima", "diverifikasi", "Sudah dicek"),
        ("sri", "supervisor", "diverifikasi", "dilaporkan", ""),
        ("walikota", "leadership", "dilaporkan", "ditindaklanjuti", "Perbaiki jalan"),
        ("pu", "unit", "ditindaklanjuti", "selesai", "Jalan sudah ditambal"),
    ]
    for row in rows:
        assert f'<td class="actor">{row.actor}</td>' in page


def test_units_see_only_their_own_complaints(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        for ticket, unit in (("12000001", "dinas-pu"), ("12000002", "dlh")):
            complaint = session.exec(select(Complaint).where(Complaint.ticket == ticket)).one()
            complaint.status, complaint.unit = ComplaintStatus.ditindaklanjuti, unit
            session.add(complaint)
        session.commit()
    sign_in(client, "pu")
    board = client.get("/desk", params={"unit": "dlh"}).text
    assert "12000001" in board
    assert "12000002" not in board
    assert "12000003" not in board
    assert MASKED in board
    assert client.get("/desk/complaints/12000002").status_code == 404
    page = client.get("/desk/complaints/12000001").text
    assert 'id="action-selesai"' in page
    assert MASKED in page


def test_reject_with_a_reason_mark_a_duplicate_and_edit(client: TestClient) -> None:
    csrf = sign_in(client, "sri")
    status, page = act(client, csrf, "12000002", to="ditolak", note="Bukan wewenang kota")
    assert status == 200
    assert "Bukan wewenang kota" in page
    status, page = act(client, csrf, "12000003", to="ditolak", duplicate_of="12000001")
    assert status == 200
    assert 'href="/desk/complaints/12000001"' in page
    response = client.post(
        "/desk/complaints/12000001/edit",
        data={
            "csrf_token": csrf,
            "category": "kependudukan",
            "location": "Jl. Teuku Umar",
            "summary": "Lampu jalan mati",
            "notes": "Kategori dikoreksi",
        },
    )
    assert response.status_code == 303
    rows = trail(client, "12000001")
    assert len(rows) == 1
    assert rows[0].from_status == rows[0].to_status == "diterima"
    assert "location: - -> Jl. Teuku Umar" in rows[0].note
    assert "note: Kategori dikoreksi" in rows[0].note
    page = client.get("/desk/complaints/12000001").text
    assert "Lampu jalan mati" in page
    assert "Kependudukan" in page


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"to": "selesai", "note": "x"}, 409, "Tindakan ini tidak dapat dilakukan"),
        ({"to": "ditolak"}, 422, "Penolakan memerlukan alasan"),
        ({"to": "ditolak", "duplicate_of": "12999999"}, 422, "Tiket keluhan asli tidak dikenal"),
        ({"to": "hilang"}, 422, "Periksa isian tindakan"),
    ],
)
def test_refused_moves_are_readable_pages(
    client: TestClient, form: dict[str, str], status: int, message: str
) -> None:
    csrf = sign_in(client, "sri")
    code, page = act(client, csrf, "12000001", **form)
    assert code == status
    assert message in page
    assert page.lstrip().startswith("<!doctype html>")
    assert trail(client, "12000001") == []


def test_leadership_cannot_verify_and_a_follow_up_needs_unit_and_instruction(
    client: TestClient,
) -> None:
    csrf = sign_in(client, "walikota")
    code, page = act(client, csrf, "12000001", to="diverifikasi")
    assert code == 409
    assert "Tindakan ini tidak dapat dilakukan" in page
    page = client.get("/desk/complaints/12000001").text
    assert 'id="action-diverifikasi"' not in page
    assert (
        client.post(
            "/desk/complaints/12000001/edit", data={"csrf_token": csrf, "summary": "x"}
        ).status_code
        == 403
    )


def test_a_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    sign_in(client, "sri")
    forged = client.post("/desk/complaints/12000001/status", data={"to": "diverifikasi"})
    assert forged.status_code == 403
    assert "muat ulang halaman" in forged.text
    wrong = client.post(
        "/desk/complaints/12000001/status", data={"to": "diverifikasi", "csrf_token": "0" * 64}
    )
    assert wrong.status_code == 403
    assert trail(client, "12000001") == []


def test_agents_may_not_open_the_desk(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        create_user(session, username="siti", password=PASSWORD, role=Role.agent, full_name="S")
    client.post("/login", data={"username": "siti", "password": PASSWORD})
    assert client.get("/desk").status_code == 403
    assert client.get("/desk/report").status_code == 403


def test_the_daily_report_in_the_browser_and_as_pdf(client: TestClient) -> None:
    sign_in(client, "walikota")
    assert "Belum ada laporan harian" in client.get("/desk/report").text
    app = client.app
    engine = app.state.engine  # type: ignore[attr-defined]
    day = reports.yesterday()
    with Session(engine) as session:
        reports.generate(session, day=day, settings=app.state.settings)  # type: ignore[attr-defined]
    page = client.get("/desk/report").text
    assert f'href="/desk/report/{day.isoformat()}.pdf"' in page
    html = client.get(f"/desk/report/{day.isoformat()}.html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    pdf = client.get(f"/desk/report/{day.isoformat()}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/desk/report/{day.isoformat()}.csv").status_code == 403
    client.cookies.clear()
    assert client.get(f"/desk/report/{day.isoformat()}.pdf").status_code == 303
    sign_in(client, "pu")
    assert client.get(f"/desk/report/{day.isoformat()}.pdf").status_code == 403
