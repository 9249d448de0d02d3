"""Complaints and callback requests through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from api.core.auth import Role
from tests.conftest import ApiHarness


def complaint(ticket: str = "01000001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticket": ticket,
        "category": "infrastruktur",
        "caller_number": "081234567890",
        "line": "082282204761",
        "recording_path": "/var/spool/asterisk/lapor/01000001.wav",
        "uniqueid": "1795890124.7",
        "taken_at": "2026-11-28T10:00:00+07:00",
    }
    return {**body, **overrides}


def test_ivr_creates_a_complaint_and_staff_reads_it(api: ApiHarness) -> None:
    created = api.client.post("/complaints", json=complaint(), headers=api.headers(Role.ivr))
    assert created.status_code == 201
    assert created.json()["status"] == "diterima"
    got = api.client.get("/complaints/01000001", headers=api.headers(Role.agent))
    assert got.status_code == 200
    assert got.json()["category"] == "infrastruktur"
    assert got.json()["taken_at"].startswith("2026-11-28T03:00:00")


def test_redelivery_is_stored_exactly_once(api: ApiHarness) -> None:
    headers = api.headers(Role.ivr)
    first = api.client.post("/complaints", json=complaint(), headers=headers)
    again = api.client.post("/complaints", json=complaint(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    listed = api.client.get("/complaints", headers=api.headers(Role.supervisor)).json()
    assert [c["ticket"] for c in listed["items"]] == ["01000001"]


def test_a_ticket_reused_by_another_call_is_a_conflict(api: ApiHarness) -> None:
    headers = api.headers(Role.ivr)
    assert api.client.post("/complaints", json=complaint(), headers=headers).status_code == 201
    other = api.client.post("/complaints", json=complaint(uniqueid="9.9"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"] == "conflict"


def test_unknown_ticket_is_404_and_bad_input_is_422(api: ApiHarness) -> None:
    missing = api.client.get("/complaints/99999999", headers=api.headers(Role.ivr))
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    bad = api.client.post(
        "/complaints", json=complaint(ticket="12AB", category="x"), headers=api.headers(Role.ivr)
    )
    assert bad.status_code == 422


def test_only_the_ivr_creates_complaints(api: ApiHarness) -> None:
    denied = api.client.post("/complaints", json=complaint(), headers=api.headers(Role.agent))
    assert denied.status_code == 403


def test_callback_request_is_idempotent(api: ApiHarness) -> None:
    body = {
        "request_id": "5b0c1a8e-ivr-test",
        "ticket": "01000001",
        "number": "081234567890",
        "line": "082282204761",
        "uniqueid": "1795890124.7",
        "queue_entered_at": "2026-11-28T03:00:00Z",
        "requested_at": "2026-11-28T03:02:00Z",
    }
    headers = api.headers(Role.ivr)
    first = api.client.post("/callbacks", json=body, headers=headers)
    again = api.client.post("/callbacks", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    listed = api.client.get(
        "/callbacks", params={"number": "081234567890"}, headers=api.headers(Role.supervisor)
    ).json()
    assert [(c["ticket"], c["request_id"]) for c in listed] == [("01000001", "5b0c1a8e-ivr-test")]


def test_a_nul_in_text_is_a_clear_error_not_a_server_failure(api: ApiHarness) -> None:
    """PostgreSQL can't store NUL (SQLite can): there it is a 422, never a 500."""
    postgres = api.engine.dialect.name == "postgresql"
    body = complaint(uniqueid="1795890124.7\x00")
    created = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert created.status_code == (422 if postgres else 201), created.text
    if postgres:
        assert created.json()["error"] == "invalid_value"
        assert "0x00" in created.json()["message"]
    found = api.client.get(
        "/complaints", params={"text": "jalan\x00"}, headers=api.headers(Role.supervisor)
    )
    assert found.status_code == (422 if postgres else 200), found.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("caller_number", "0812345\n"),
        ("caller_number", "0812 3456"),
        ("caller_number", "'; DROP TABLE complaint; --"),
        ("caller_number", "08123456789012345678901"),
        ("caller_number", "12"),
        ("caller_number", "++62812"),
        ("caller_number", "0812+"),
        ("line", "082282204761\n"),
        ("line", "line-1"),
    ],
)
def test_caller_number_and_line_must_be_phone_numbers(
    api: ApiHarness, field: str, value: str
) -> None:
    body = complaint(**{field: value})
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", field]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("+6281234567890", "081234567890"),  # one citizen, one number: the national form
        ("1001", "1001"),
        ("", ""),  # the IVR's empty caller id
        ("anonymous", ""),  # a withheld SIP caller id
        ("Unknown", ""),
    ],
)
def test_what_the_ivr_sends_for_a_caller_is_taken(api: ApiHarness, sent: str, stored: str) -> None:
    body = complaint(caller_number=sent, line="unknown" if sent == "Unknown" else "082282204761")
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 201, response.text
    assert response.json()["caller_number"] == stored


@pytest.mark.parametrize("ticket", ["abc", "0100000\n", "-1"])
def test_a_ticket_is_digits(api: ApiHarness, ticket: str) -> None:
    body = complaint(ticket=ticket)
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "params",
    [
        {"taken_from": "0001-01-01T00:00:00+14:00"},
        {"taken_to": "9999-12-31T23:59:59-14:00"},
        {"taken_from": "0001-01-01T00:00:00"},
    ],
)
def test_search_bounds_past_the_years_datetime_holds_are_422(
    api: ApiHarness, params: dict[str, str]
) -> None:
    response = api.client.get("/complaints", params=params, headers=api.headers(Role.supervisor))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "query"


@pytest.mark.parametrize(
    "taken_at",
    ["9999-12-31T23:59:59-14:00", "9999-12-30T00:00:00Z", "0001-01-01T00:00:00+14:00"],
)
def test_a_complaint_taken_past_the_years_datetime_holds_is_422(
    api: ApiHarness, taken_at: str
) -> None:
    body = complaint(taken_at=taken_at)
    response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "taken_at"]


def test_a_callback_requested_past_the_years_datetime_holds_is_422(api: ApiHarness) -> None:
    body = {
        "request_id": "5b0c1a8e-ivr-test",
        "ticket": None,
        "number": "081234567890",
        "line": "082282204761",
        "uniqueid": "1795890124.7",
        "queue_entered_at": "0001-01-01T00:00:00+14:00",
        "requested_at": "2026-11-28T10:00:00+07:00",
    }
    response = api.client.post("/callbacks", json=body, headers=api.headers(Role.ivr))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "queue_entered_at"]
