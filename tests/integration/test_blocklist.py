"""The blocklist through the API on SQLite and PostgreSQL: supervisors block and unblock
(audited), the IVR looks callers up under any spelling, an expired entry blocks no more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from api.blocklist.models import BlockedNumber
from api.core.auth import Role
from tests.conftest import ApiHarness

NUMBER = "081277770001"
SPELLINGS = ["+6281277770001", "6281277770001", "081277770001", "81277770001"]


def block(api: ApiHarness, headers: dict[str, str], **body: Any) -> Any:
    payload = {"number": NUMBER, "reason": "telepon iseng berulang", **body}
    return api.client.post("/blocklist", json=payload, headers=headers)


def looked_up(api: ApiHarness, number: str) -> int:
    response = api.client.get(f"/blocklist/{number}", headers=api.headers(Role.ivr))
    status: int = response.status_code
    return status


def audit(api: ApiHarness, **params: str) -> list[dict[str, Any]]:
    response = api.client.get("/audit/blocklist", params=params, headers=api.headers(Role.admin))
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_block_look_up_under_every_spelling_unblock_and_audit(api: ApiHarness) -> None:
    supervisor = api.headers(Role.supervisor, name="spv-rina")
    until = datetime.now(UTC) + timedelta(days=30)
    created = block(api, supervisor, number="+6281277770001", until=until.isoformat())
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["number"] == NUMBER  # stored in the national form
    assert (entry["added_by"], entry["active"]) == ("spv-rina", True)
    assert datetime.fromisoformat(entry["until"]) == until
    assert [looked_up(api, spelling) for spelling in SPELLINGS] == [200] * 4
    assert looked_up(api, "081277770002") == 404
    listed = api.client.get("/blocklist", headers=supervisor).json()
    assert [row["number"] for row in listed] == [NUMBER]

    admin = api.headers(Role.admin, name="adm-budi")
    gone = api.client.delete("/blocklist/6281277770001", headers=admin)
    assert gone.status_code == 200, gone.text
    assert gone.json()["reason"] == "telepon iseng berulang"
    assert looked_up(api, NUMBER) == 404
    assert api.client.get("/blocklist", headers=supervisor).json() == []
    assert api.client.delete(f"/blocklist/{NUMBER}", headers=admin).status_code == 404

    trail = audit(api, number="+6281277770001")
    assert [(row["action"], row["username"], row["role"]) for row in trail] == [
        ("unblock", "adm-budi", "admin"),
        ("block", "spv-rina", "supervisor"),
    ]
    assert {row["number"] for row in trail} == {NUMBER}
    assert all(row["reason"] == "telepon iseng berulang" for row in trail)


def test_a_blocked_number_is_not_blocked_twice(api: ApiHarness) -> None:
    supervisor = api.headers(Role.supervisor)
    assert block(api, supervisor).status_code == 201
    again = block(api, supervisor, number="6281277770001", reason="lagi")
    assert again.status_code == 409
    assert again.json()["error"] == "already_blocked"
    assert [row["action"] for row in audit(api)] == ["block"]


def expire(api: ApiHarness, number: str) -> None:
    """Move an entry's end into the past, as time passing would."""
    with Session(api.engine) as session:
        entry = session.exec(select(BlockedNumber).where(BlockedNumber.number == number)).one()
        entry.until = datetime.now(UTC) - timedelta(minutes=1)
        session.add(entry)
        session.commit()


def test_an_expired_entry_no_longer_blocks_and_can_be_renewed(api: ApiHarness) -> None:
    supervisor = api.headers(Role.supervisor)
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert block(api, supervisor, until=soon.isoformat()).status_code == 201
    assert looked_up(api, NUMBER) == 200
    expire(api, NUMBER)
    assert looked_up(api, NUMBER) == 404
    [listed] = api.client.get("/blocklist", headers=supervisor).json()
    assert listed["active"] is False
    renewed = block(api, supervisor, reason="ancaman kepada petugas")
    assert renewed.status_code == 201, renewed.text
    assert (renewed.json()["until"], renewed.json()["active"]) == (None, True)
    assert looked_up(api, NUMBER) == 200
    assert [row["action"] for row in audit(api)] == ["block", "block"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "0812-7777"}, "number"),
        ({"number": "+" + "6" * 21}, "number"),
        ({"number": "08127777${SHELL(id)}"}, "number"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"until": "kemarin"}, "until"),
    ],
)
def test_bad_input_gets_a_clear_error_and_blocks_nothing(
    api: ApiHarness, body: dict[str, str], field: str
) -> None:
    response = block(api, api.headers(Role.supervisor), **body)
    assert response.status_code == 422
    assert field in response.text
    assert api.client.get("/blocklist", headers=api.headers(Role.admin)).json() == []
    assert audit(api) == []


def test_an_end_in_the_past_is_refused(api: ApiHarness) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    response = block(api, api.headers(Role.supervisor), until=past.isoformat())
    assert response.status_code == 422
    assert response.json()["error"] == "until_in_past"


def test_a_bad_number_in_the_path_is_refused(api: ApiHarness) -> None:
    for route in ("/blocklist/12", "/blocklist/" + "9" * 22):
        assert api.client.get(route, headers=api.headers(Role.ivr)).status_code == 422
