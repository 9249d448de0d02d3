"""A realistic day for the daily report: calls through ``POST /events``, complaints through
the complaint routes (SMS ones through the service, as the SMS route would store them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from api.complaints.models import (
    ComplaintChannel,
    ComplaintCreate,
    ComplaintHistory,
    create_complaint,
)
from api.core.clock import WorkCalendar
from tests.integration.event_factory import FakeCall

DAY = date(2026, 11, 20)  # a Friday, long over
DAY_START = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # 00:00 WIB on DAY
XSS = "<script>alert('x')</script> Jalan rusak & berlubang"
FORMULA = '=HYPERLINK("http://example.invalid","klik")'


@dataclass
class Seeded:
    calls: list[FakeCall]
    new: list[str]  # tickets taken on DAY
    verified: list[str]  # in diverifikasi before the report: it forwards these
    closed: str  # moved to selesai on DAY
    other_days: list[str] = field(default_factory=list)


def day_calls() -> list[FakeCall]:
    outcomes = ["answered", "abandoned", "answered", "ivr_only", "answered", "callback"]
    return [
        FakeCall(
            f"0812{i:04d}",
            DAY_START + timedelta(hours=7, minutes=23 * i, seconds=5 * i),
            outcomes[i % len(outcomes)],
            wait=(i * 7) % 40,
            talk=30 + i,
            category=["infrastruktur", "kependudukan", None][i % 3],
            urgent=i % 5 == 2,
        )
        for i in range(30)
    ]


def complaint(ticket: str, at: datetime, category: str) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "category": category,
        "caller_number": "081234567890",
        "line": "082282204761",
        "uniqueid": f"1795890000.{ticket}",
        "taken_at": at.isoformat(),
    }


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def seed(client: TestClient, engine: Engine, headers: dict[str, dict[str, str]]) -> Seeded:
    """``headers`` by role name: collector, ivr, agent, supervisor, leadership."""
    calls = day_calls()
    events = [e for c in calls for e in c.events]
    _ok(client.post("/events", json={"events": events}, headers=headers["collector"]))
    categories = ["infrastruktur", "kependudukan", "pelayanan_publik", "lainnya", "infrastruktur"]
    new = []
    for i, category in enumerate(categories * 2):
        ticket = f"1000{i:04d}"
        at = DAY_START + timedelta(hours=6, minutes=41 * i)
        _ok(
            client.post("/complaints", json=complaint(ticket, at, category), headers=headers["ivr"])
        )
        new.append(ticket)
    with Session(engine) as session:
        for ticket, text in (("10009001", f"{XSS}\nbaris kedua"), ("10009002", FORMULA)):
            data = ComplaintCreate.model_validate(
                complaint(ticket, DAY_START + timedelta(hours=20), "lainnya")
            )
            create_complaint(
                session, data=data, calendar=WorkCalendar(), channel=ComplaintChannel.sms, text=text
            )
            new.append(ticket)
    before = complaint("10008001", DAY_START - timedelta(hours=3), "infrastruktur")
    after = complaint("10008002", DAY_START + timedelta(days=1, minutes=1), "lainnya")
    for body in (before, after):
        _ok(client.post("/complaints", json=body, headers=headers["ivr"]))
    summary = {"summary": "Lampu jalan mati di Jl. Teuku Umar"}
    _ok(client.patch("/complaints/10000000", json=summary, headers=headers["agent"]))

    def move(ticket: str, role: str, **body: str) -> None:
        _ok(client.post(f"/complaints/{ticket}/status", json=body, headers=headers[role]))

    verified = ["10000000", "10000003", "10009001", "10008001"]
    for ticket in [*verified, "10000001"]:
        move(ticket, "supervisor", to="diverifikasi")
    move("10000002", "supervisor", to="ditolak", note="duplikat laporan lain")
    closed = "10000001"
    move(closed, "supervisor", to="dilaporkan")
    move(closed, "leadership", to="ditindaklanjuti", unit="dinas-pu", note="segera perbaiki")
    move(closed, "supervisor", to="selesai", note="Sudah diperbaiki oleh Dinas PU")
    # The closing happened on DAY: the audit trail is dated by the clock, so set it back.
    with Session(engine) as session:
        session.execute(
            update(ComplaintHistory)
            .where(col(ComplaintHistory.note) == "Sudah diperbaiki oleh Dinas PU")
            .values(at=DAY_START + timedelta(hours=15))
        )
        session.commit()
    return Seeded(calls, sorted(new), sorted(verified), closed, ["10008001", "10008002"])
