"""The desk's blocklist page over HTTP (no browser), SQLite and PostgreSQL: supervisors
block and unblock through the forms (audited like the API), bad input is a page with the
reason in Indonesian, other roles get no page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from api.audit.models import BlocklistChange
from api.blocklist.models import BlockedNumber
from tests.integration.test_desk_pages import client, sign_in

__all__ = ["client"]  # the fixture, reused

PAGE = "/desk/blocklist"


T = TypeVar("T", bound=SQLModel)


def rows(client: TestClient, model: type[T]) -> list[T]:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        return list(session.exec(select(model)).all())


def post(client: TestClient, path: str, csrf: str, **form: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf_token": csrf, **form})
    if response.status_code == 303:
        assert response.headers["location"] == PAGE
        response = client.get(PAGE)
    return response.status_code, response.text


def test_a_supervisor_blocks_and_unblocks_from_the_page(client: TestClient) -> None:
    csrf = sign_in(client, "sri")
    assert 'href="/desk/blocklist"' in client.get("/desk").text
    status, page = post(
        client, PAGE, csrf, number="+6281277770005", reason="ancaman", until="2099-12-31"
    )
    assert status == 200, page
    assert "0812-7777-0005" in page
    assert "ancaman" in page
    [entry] = rows(client, BlockedNumber)
    assert (entry.number, entry.added_by) == ("081277770005", "sri")
    # The end of 31/12/2099 in Bandar Lampung: midnight WIB, 17.00 UTC the day before.
    assert entry.until is not None
    assert entry.until.replace(tzinfo=UTC) == datetime(2099, 12, 31, 17, tzinfo=UTC)

    status, page = post(client, PAGE, csrf, number="081277770005", reason="lagi")
    assert status == 409
    assert "sudah diblokir" in page

    status, page = post(client, f"{PAGE}/unblock", csrf, number="081277770005")
    assert status == 200, page
    assert rows(client, BlockedNumber) == []
    assert sorted(c.action for c in rows(client, BlocklistChange)) == ["block", "unblock"]


def test_bad_input_is_a_page_with_the_reason(client: TestClient) -> None:
    csrf = sign_in(client, "sri")
    for form, code, said in [
        ({"number": "0812 abc", "reason": "iseng"}, 422, "Periksa isian"),
        ({"number": "081277770006", "reason": " "}, 422, "Periksa isian"),
        ({"number": "081277770006", "reason": "iseng", "until": "2020-01-01"}, 422, "masa depan"),
    ]:
        status, page = post(client, PAGE, csrf, **form)
        assert (status, said in page) == (code, True), page
    status, page = post(client, f"{PAGE}/unblock", csrf, number="081277770006")
    assert status == 404
    assert "tidak ada dalam daftar blokir" in page
    assert rows(client, BlockedNumber) == []
    assert rows(client, BlocklistChange) == []


def test_the_page_is_for_supervisors_and_admins_only(client: TestClient) -> None:
    csrf = sign_in(client, "walikota")
    assert client.get(PAGE).status_code == 403
    status, _ = post(client, PAGE, csrf, number="081277770007", reason="iseng")
    assert status == 403
    assert not re.search(r'href="/desk/blocklist"', client.get("/desk").text)
    assert rows(client, BlockedNumber) == []


def test_a_form_without_its_csrf_token_changes_nothing(client: TestClient) -> None:
    sign_in(client, "sri")
    response = client.post(PAGE, data={"number": "081277770008", "reason": "iseng"})
    assert response.status_code == 403
    assert rows(client, BlockedNumber) == []
