"""The complaint workflow through the API: status moves, audit trail, units, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.integration.test_complaints_api import complaint


def add(api: ApiHarness, ticket: str, **overrides: Any) -> None:
    body = complaint(ticket, uniqueid=f"u.{ticket}", **overrides)
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 201, response.text


def move(api: ApiHarness, ticket: str, headers: dict[str, str], **body: Any) -> Any:
    return api.client.post(f"/complaints/{ticket}/status", json=body, headers=headers)


def test_a_complaint_walks_the_whole_flow_and_every_step_is_audited(api: ApiHarness) -> None:
    add(api, "01000001")
    supervisor = api.headers(Role.supervisor, name="siti")
    leadership = api.headers(Role.leadership, name="walikota")
    unit = api.headers(Role.unit, name="pu-officer", unit="dinas-pu")
    assert move(api, "01000001", supervisor, to="diverifikasi").status_code == 200
    reported = move(api, "01000001", supervisor, to="dilaporkan").json()
    assert reported["reported_at"] is not None
    ordered = move(
        api, "01000001", leadership, to="ditindaklanjuti", unit="dinas-pu", note="Segera perbaiki"
    )
    assert ordered.status_code == 200
    assert ordered.json()["unit"] == "dinas-pu"
    in_unit = api.client.get("/complaints", headers=unit).json()
    assert [c["ticket"] for c in in_unit["items"]] == ["01000001"]
    done = move(api, "01000001", unit, to="selesai", note="Jalan sudah ditambal")
    assert done.status_code == 200
    assert done.json()["status"] == "selesai"
    assert done.json()["due_at"] is None
    trail = api.client.get("/complaints/01000001/history", headers=supervisor).json()
    steps = [(e["actor"], e["from_status"], e["to_status"], e["note"]) for e in trail]
    assert steps == [
        ("siti", "diterima", "diverifikasi", ""),
        ("siti", "diverifikasi", "dilaporkan", ""),
        ("walikota", "dilaporkan", "ditindaklanjuti", "Segera perbaiki"),
        ("pu-officer", "ditindaklanjuti", "selesai", "Jalan sudah ditambal"),
    ]
    assert all(e["at"] for e in trail)


def test_an_illegal_move_is_409_with_the_legal_ones_and_changes_nothing(
    api: ApiHarness,
) -> None:
    add(api, "01000002")
    supervisor = api.headers(Role.supervisor)
    response = move(api, "01000002", supervisor, to="selesai", note="x")
    assert response.status_code == 409
    assert response.json()["error"] == "illegal_transition"
    assert "diverifikasi" in response.json()["message"]
    wrong_role = move(api, "01000002", api.headers(Role.leadership), to="diverifikasi")
    assert wrong_role.status_code == 409
    assert wrong_role.json()["error"] == "transition_not_allowed_for_role"
    got = api.client.get("/complaints/01000002", headers=supervisor).json()
    assert got["status"] == "diterima"
    assert api.client.get("/complaints/01000002/history", headers=supervisor).json() == []


def test_missing_details_are_422(api: ApiHarness) -> None:
    add(api, "01000003")
    supervisor = api.headers(Role.supervisor)
    assert move(api, "01000003", supervisor, to="ditolak").status_code == 422
    assert move(api, "01000003", supervisor, to="bogus").status_code == 422
    unknown_original = move(api, "01000003", supervisor, to="ditolak", duplicate_of="09999999")
    assert unknown_original.status_code == 422
    itself = move(api, "01000003", supervisor, to="ditolak", duplicate_of="01000003")
    assert itself.status_code == 422
    assert move(api, "09999999", supervisor, to="diverifikasi").status_code == 404


def test_a_duplicate_is_rejected_with_a_link_to_the_original(api: ApiHarness) -> None:
    add(api, "01000004")
    add(api, "01000005")
    supervisor = api.headers(Role.supervisor)
    rejected = move(api, "01000005", supervisor, to="ditolak", duplicate_of="01000004")
    assert rejected.status_code == 200
    assert rejected.json()["duplicate_of"] == "01000004"
    assert rejected.json()["status"] == "ditolak"


def test_a_unit_sees_and_closes_only_its_own_complaints(api: ApiHarness) -> None:
    supervisor = api.headers(Role.supervisor)
    leadership = api.headers(Role.leadership)
    for ticket, unit in (("01000006", "dinas-pu"), ("01000007", "disdukcapil")):
        add(api, ticket)
        move(api, ticket, supervisor, to="diverifikasi")
        move(api, ticket, supervisor, to="dilaporkan")
        ordered = move(api, ticket, leadership, to="ditindaklanjuti", unit=unit, note="Tangani")
        assert ordered.status_code == 200
    pu = api.headers(Role.unit, unit="dinas-pu")
    listed = api.client.get("/complaints", headers=pu).json()
    assert [c["ticket"] for c in listed["items"]] == ["01000006"]
    assert api.client.get("/complaints/01000007", headers=pu).status_code == 404
    other = move(api, "01000007", pu, to="selesai", note="bukan milik kami")
    assert other.status_code == 404
    asked_other = api.client.get("/complaints", params={"unit": "disdukcapil"}, headers=pu)
    assert asked_other.status_code == 403
    got = api.client.get("/complaints/01000007", headers=supervisor).json()
    assert got["status"] == "ditindaklanjuti"


def test_phone_numbers_are_masked_for_roles_that_dont_call_citizens(api: ApiHarness) -> None:
    add(api, "01000008", caller_number="081234567890")
    shown = {
        role: api.client.get("/complaints/01000008", headers=api.headers(role)).json()
        for role in (Role.agent, Role.supervisor, Role.admin, Role.leadership)
    }
    assert shown[Role.agent]["caller_number"] == "081234567890"
    assert shown[Role.supervisor]["caller_number"] == "081234567890"
    assert shown[Role.admin]["caller_number"] == "081234567890"
    assert shown[Role.leadership]["caller_number"] == "0812******90"
    # Nor can a masked role find a caller by number.
    by_number = api.client.get(
        "/complaints", params={"caller": "081234567890"}, headers=api.headers(Role.leadership)
    ).json()
    assert by_number["total"] == 1


def test_overdue_lists_complaints_past_their_working_day_deadline(api: ApiHarness) -> None:
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    add(api, "01000009", taken_at=long_ago)
    add(api, "01000010")  # just taken: due in 3 working days
    supervisor = api.headers(Role.supervisor)
    overdue = api.client.get("/complaints/overdue", headers=supervisor).json()
    assert [c["ticket"] for c in overdue] == ["01000009"]
    assert overdue[0]["overdue"] is True
    move(api, "01000009", supervisor, to="ditolak", note="tidak valid")
    assert api.client.get("/complaints/overdue", headers=supervisor).json() == []


def test_search_filters_and_pages(api: ApiHarness) -> None:
    add(api, "01000011", category="kependudukan", taken_at="2026-11-20T09:00:00+07:00")
    add(api, "01000012", taken_at="2026-11-21T09:00:00+07:00")
    add(api, "01000013", taken_at="2026-11-22T09:00:00+07:00", caller_number="0899")
    agent = api.headers(Role.agent)
    api.client.patch(
        "/complaints/01000012", json={"summary": "Lampu jalan 100% mati"}, headers=agent
    )

    def tickets(**params: Any) -> list[str]:
        page = api.client.get("/complaints", params=params, headers=agent).json()
        return [c["ticket"] for c in page["items"]]

    assert tickets() == ["01000013", "01000012", "01000011"]
    assert tickets(category="kependudukan") == ["01000011"]
    assert tickets(caller="0899") == ["01000013"]
    assert tickets(text="LAMPU") == ["01000012"]
    assert tickets(text="100%") == ["01000012"]
    assert tickets(text="_") == []  # a LIKE wildcard, matched literally
    assert tickets(
        taken_from="2026-11-21T00:00:00+07:00", taken_to="2026-11-22T00:00:00+07:00"
    ) == ["01000012"]
    assert tickets(status="diterima", channel="phone", limit=2) == ["01000013", "01000012"]
    page = api.client.get("/complaints", params={"limit": 2, "offset": 2}, headers=agent).json()
    assert (page["total"], [c["ticket"] for c in page["items"]]) == (3, ["01000011"])
    assert api.client.get("/complaints", params={"limit": 0}, headers=agent).status_code == 422
    assert api.client.get("/complaints", params={"status": "x"}, headers=agent).status_code == 422


def test_an_officer_corrects_the_category_and_adds_location_and_summary(
    api: ApiHarness,
) -> None:
    add(api, "01000014")
    agent = api.headers(Role.agent, name="budi")
    edited = api.client.patch(
        "/complaints/01000014",
        json={"category": "lainnya", "location": "Jl. Teuku Umar", "summary": "Got tersumbat"},
        headers=agent,
    )
    assert edited.status_code == 200
    body = edited.json()
    assert (body["category"], body["location"], body["summary"]) == (
        "lainnya",
        "Jl. Teuku Umar",
        "Got tersumbat",
    )
    trail = api.client.get("/complaints/01000014/history", headers=agent).json()
    assert trail[0]["actor"] == "budi"
    assert "category: infrastruktur -> lainnya" in trail[0]["note"]
    empty = api.client.patch("/complaints/01000014", json={}, headers=agent)
    assert empty.status_code == 422
    bad = api.client.patch("/complaints/01000014", json={"category": "x"}, headers=agent)
    assert bad.status_code == 422
    unit = api.client.patch(
        "/complaints/01000014", json={"summary": "x"}, headers=api.headers(Role.unit)
    )
    assert unit.status_code == 403


def test_leadership_orders_follow_up_by_a_unit_from_the_city_list(api: ApiHarness) -> None:
    units = api.client.get("/units", headers=api.headers(Role.leadership)).json()
    assert {"id": "dinas-pu", "name": "Dinas Pekerjaan Umum"} in units
    add(api, "01000015")
    supervisor = api.headers(Role.supervisor)
    move(api, "01000015", supervisor, to="diverifikasi")
    move(api, "01000015", supervisor, to="dilaporkan")
    leadership = api.headers(Role.leadership)
    unknown = move(api, "01000015", leadership, to="ditindaklanjuti", unit="dinas-x", note="Cek")
    assert unknown.status_code == 422
    assert "dinas-pu" in unknown.json()["message"]
    no_note = move(api, "01000015", leadership, to="ditindaklanjuti", unit="dishub")
    assert no_note.status_code == 422
    ordered = move(api, "01000015", leadership, to="ditindaklanjuti", unit="dishub", note="Cek")
    assert ordered.status_code == 200
    dishub = api.headers(Role.unit, unit="dishub")
    assert api.client.get("/complaints", headers=dishub).json()["total"] == 1


def test_a_unit_user_must_belong_to_a_known_unit(api: ApiHarness) -> None:
    body = {
        "username": "pu.staff",
        "full_name": "Staf PU",
        "role": "unit",
        "unit": "dinas-xyz",
        "password": "rahasia-panjang-sekali",
    }
    admin = api.headers(Role.admin)
    assert api.client.post("/users", json=body, headers=admin).status_code == 422
    created = api.client.post("/users", json={**body, "unit": "dinas-pu"}, headers=admin)
    assert created.status_code == 201
    user_id = created.json()["id"]
    moved = api.client.patch(f"/users/{user_id}", json={"unit": "nowhere"}, headers=admin)
    assert moved.status_code == 422
