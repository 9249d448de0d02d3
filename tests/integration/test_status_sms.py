"""Status SMS on SQLite and PostgreSQL: one row per status change in its transaction, sent
to a real local HTTP gateway, retried on a bounded schedule, claimed by one sender among
many, and stopped by STOP."""

from __future__ import annotations

import asyncio
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from api.complaints.models import Complaint, ComplaintHistory, get_complaint
from api.complaints.service import StatusChange, change_status
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Principal, Role
from api.core.clock import WorkCalendar, utc_now
from api.core.errors import InvalidInput
from api.core.settings import ApiSettings
from api.retention import purge
from api.sms.commands import reply
from api.sms.opt_out import SmsOptOut, opted_out
from api.sms.status_messages import LEASE, RETRY_DELAYS, StatusSms, claim
from api.sms.status_sender import gateway as status_gateway
from api.sms.status_sender import send_due
from tests.conftest import ApiHarness
from tests.e2e.services import free_port
from tests.integration.test_complaint_workflow import add, move
from tests.integration.test_desk_pages import act, sign_in
from tests.integration.test_desk_pages import client as client  # the fixture
from tests.integration.test_sms_inbound import Gateway, post
from tests.integration.test_sms_inbound import gateway as gateway  # the fixture

CITIZEN = "081234567890"


def messages(api: ApiHarness, ticket: str | None = None) -> list[StatusSms]:
    with Session(api.engine) as session:
        query = select(StatusSms).order_by(col(StatusSms.id))
        if ticket is not None:
            query = query.where(StatusSms.ticket == ticket)
        return list(session.exec(query).all())


def walk(api: ApiHarness, ticket: str, note: str = "Jalan sudah ditambal") -> None:
    """diterima -> diverifikasi -> dilaporkan -> ditindaklanjuti -> selesai."""
    supervisor = api.headers(Role.supervisor)
    assert move(api, ticket, supervisor, to="diverifikasi").status_code == 200
    assert move(api, ticket, supervisor, to="dilaporkan").status_code == 200
    leader = api.headers(Role.leadership)
    order = move(api, ticket, leader, to="ditindaklanjuti", unit="dinas-pu", note="Segera")
    assert order.status_code == 200
    assert move(api, ticket, supervisor, to="selesai", note=note).status_code == 200


def http_sender(gateway: Gateway) -> Any:
    settings = ApiSettings(status_sms_via="http", sms_reply_url=gateway.url)
    return status_gateway(settings)


def sent_texts(gateway: Gateway) -> list[tuple[str, str]]:
    return [(body["number"], body["text"]) for body in map(json.loads, bodies(gateway))]


def bodies(gateway: Gateway) -> list[bytes]:
    return [raw for _, raw in gateway.requests]


def test_each_announced_change_writes_one_message(api: ApiHarness) -> None:
    add(api, "01000001", caller_number="+6281234567890")
    walk(api, "01000001")
    rows = messages(api)
    assert [(m.to_status, m.state, m.number) for m in rows] == [
        ("diverifikasi", "pending", CITIZEN),
        ("ditindaklanjuti", "pending", CITIZEN),
        ("selesai", "pending", CITIZEN),
    ]
    assert [m.text for m in rows] == [
        reply("status_diverifikasi", ticket="01000001"),
        reply("status_ditindaklanjuti", ticket="01000001", unit="Dinas Pekerjaan Umum"),
        reply("status_selesai", ticket="01000001", note="Jalan sudah ditambal"),
    ]
    assert len({m.history_id for m in rows}) == 3


def test_a_refused_change_writes_no_message(api: ApiHarness) -> None:
    add(api, "01000002")
    supervisor = api.headers(Role.supervisor)
    assert move(api, "01000002", supervisor, to="selesai", note="x").status_code == 409
    assert move(api, "01000002", supervisor, to="ditolak", note="iseng").status_code == 200
    assert messages(api) == []


def test_a_number_that_takes_no_sms_is_kept_as_skipped(api: ApiHarness) -> None:
    add(api, "01000003", caller_number="0721123456")  # a Bandar Lampung landline
    add(api, "01000004", caller_number="")  # withheld
    for ticket in ("01000003", "01000004"):
        move(api, ticket, api.headers(Role.supervisor), to="diverifikasi")
    rows = messages(api)
    assert [(m.state, m.reason) for m in rows] == [("skipped", "no_mobile_number")] * 2


def test_sent_once_to_the_gateway_and_listed_no_more(api: ApiHarness, gateway: Gateway) -> None:
    add(api, "01000005")
    move(api, "01000005", api.headers(Role.supervisor), to="diverifikasi")
    unsent = api.client.get("/sms/status-messages", headers=api.headers(Role.agent)).json()
    assert [(m["ticket"], m["state"]) for m in unsent] == [("01000005", "pending")]
    send = http_sender(gateway)
    assert asyncio.run(send_due(api.engine, send, "replica-a")) == 1
    assert asyncio.run(send_due(api.engine, send, "replica-a")) == 0
    assert sent_texts(gateway) == [(CITIZEN, reply("status_diverifikasi", ticket="01000005"))]
    [row] = messages(api)
    assert (row.state, row.attempts, row.sent_at is not None) == ("sent", 1, True)
    assert api.client.get("/sms/status-messages", headers=api.headers(Role.agent)).json() == []
    sent = api.client.get(
        "/sms/status-messages", params={"state": "sent"}, headers=api.headers(Role.supervisor)
    )
    assert [m["id"] for m in sent.json()] == [row.id]


def test_failures_are_retried_on_the_schedule_then_failed_and_shown(
    api: ApiHarness, gateway: Gateway
) -> None:
    add(api, "01000006")
    move(api, "01000006", api.headers(Role.supervisor), to="diverifikasi")
    gateway.status = 503
    send, now = http_sender(gateway), utc_now()
    for delay in (timedelta(0), *RETRY_DELAYS):
        now += delay
        # Not before its time: nothing is due a second early.
        assert asyncio.run(send_due(api.engine, send, "r", now - timedelta(seconds=1))) == 0
        assert asyncio.run(send_due(api.engine, send, "r", now)) == 1
    assert asyncio.run(send_due(api.engine, send, "r", now + timedelta(days=1))) == 0
    [row] = messages(api)
    assert (row.state, row.attempts) == ("failed", len(RETRY_DELAYS) + 1)
    assert "503" in (row.last_error or "")
    assert len(gateway.requests) == len(RETRY_DELAYS) + 1
    listed = api.client.get("/sms/status-messages", headers=api.headers(Role.supervisor)).json()
    assert [(m["state"], m["last_error"]) for m in listed] == [("failed", row.last_error)]

    # A supervisor gives it one more try; the gateway is back.
    agent = api.client.post(f"/sms/status-messages/{row.id}/retry", headers=api.headers(Role.agent))
    assert agent.status_code == 403
    again = api.client.post(
        f"/sms/status-messages/{row.id}/retry", headers=api.headers(Role.supervisor)
    )
    assert (again.status_code, again.json()["state"]) == (200, "pending")
    gateway.status = 200
    assert asyncio.run(send_due(api.engine, send, "r")) == 1
    assert messages(api)[0].state == "sent"
    twice = api.client.post(
        f"/sms/status-messages/{row.id}/retry", headers=api.headers(Role.supervisor)
    )
    assert (twice.status_code, twice.json()["error"]) == (409, "not_failed")
    missing = api.client.post("/sms/status-messages/999/retry", headers=api.headers(Role.admin))
    assert missing.status_code == 404


def test_one_claim_wins_among_many_threads(api: ApiHarness) -> None:
    add(api, "01000007")
    move(api, "01000007", api.headers(Role.supervisor), to="diverifikasi")
    [row] = messages(api)
    assert row.id is not None
    now = utc_now()

    def take(runner: int) -> bool:
        with Session(api.engine) as session:
            return claim(session, row.id, f"worker-{runner}", now) is not None  # type: ignore[arg-type]

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(take, range(16)))
    assert won.count(True) == 1


def test_two_senders_at_once_send_each_message_once(api: ApiHarness, gateway: Gateway) -> None:
    for n in range(6):
        add(api, f"0100010{n}", caller_number=f"08123456780{n}")
        move(api, f"0100010{n}", api.headers(Role.supervisor), to="diverifikasi")
    send = http_sender(gateway)

    async def both() -> list[int]:
        return list(
            await asyncio.gather(
                send_due(api.engine, send, "worker-1"), send_due(api.engine, send, "worker-2")
            )
        )

    assert sum(asyncio.run(both())) == 6
    numbers = sorted(number for number, _ in sent_texts(gateway))
    assert numbers == [f"08123456780{n}" for n in range(6)]
    assert {m.state for m in messages(api)} == {"sent"}


def test_a_claim_left_by_a_dead_sender_is_taken_after_the_lease(
    api: ApiHarness, gateway: Gateway
) -> None:
    add(api, "01000008")
    move(api, "01000008", api.headers(Role.supervisor), to="diverifikasi")
    [row] = messages(api)
    now = utc_now()
    with Session(api.engine) as session:
        assert claim(session, row.id, "died", now) is not None  # type: ignore[arg-type]
    send = http_sender(gateway)
    assert asyncio.run(send_due(api.engine, send, "new", now + LEASE - timedelta(seconds=1))) == 0
    assert asyncio.run(send_due(api.engine, send, "new", now + LEASE + timedelta(seconds=1))) == 1
    [row] = messages(api)
    assert (row.state, len(gateway.requests)) == ("sent", 1)


def test_stop_skips_later_messages_and_mulai_starts_them_again(
    api: ApiHarness, gateway: Gateway
) -> None:
    add(api, "01000009", caller_number="081234567890")
    supervisor = api.headers(Role.supervisor)
    move(api, "01000009", supervisor, to="diverifikasi")  # pending before the STOP
    stopped = post(api, json={"number": "+6281234567890", "text": "Berhenti"}).json()
    assert (stopped["kind"], stopped["reply"]) == ("stopped", reply("stopped"))
    again = post(api, json={"number": "6281234567890", "text": "stop"}).json()
    assert again["kind"] == "stopped"
    move(api, "01000009", supervisor, to="dilaporkan")
    move(api, "01000009", api.headers(Role.leadership), to="ditindaklanjuti", unit="dlh", note="x")
    send = http_sender(gateway)
    assert asyncio.run(send_due(api.engine, send, "r")) == 0
    assert gateway.requests == []
    rows = messages(api)
    assert [(m.to_status, m.state, m.reason) for m in rows] == [
        ("diverifikasi", "skipped", "opted_out"),  # at sending time
        ("ditindaklanjuti", "skipped", "opted_out"),  # at the change
    ]
    skipped = api.client.get(
        "/sms/status-messages", params={"state": "skipped"}, headers=supervisor
    ).json()
    assert len(skipped) == 2

    started = post(api, json={"number": "081234567890", "text": "MULAI"}).json()
    assert (started["kind"], started["reply"]) == ("started", reply("started"))
    move(api, "01000009", supervisor, to="selesai", note="Sampah sudah diangkut")
    assert asyncio.run(send_due(api.engine, send, "r")) == 1
    assert sent_texts(gateway) == [
        (CITIZEN, reply("status_selesai", ticket="01000009", note="Sampah sudah diangkut"))
    ]


def test_a_rolled_back_change_leaves_no_message(api: ApiHarness) -> None:
    """The message is in the change's transaction: a change whose ``finish`` refuses (as a
    refused attachment does) leaves neither."""
    add(api, "01000010")

    def refuse(complaint: Complaint, entry: ComplaintHistory) -> None:
        raise InvalidInput("refused")

    with Session(api.engine) as session:
        with pytest.raises(InvalidInput):
            change_status(
                session,
                ticket="01000010",
                change=StatusChange(to=ComplaintStatus.diverifikasi),
                principal=Principal("siti", Role.supervisor, token_id=1),
                calendar=WorkCalendar(),
                finish=refuse,
            )
        session.rollback()
    assert messages(api) == []
    with Session(api.engine) as session:
        assert get_complaint(session, ticket="01000010").status == "diterima"


def test_the_desk_page_shows_the_complaints_status_sms(client: TestClient) -> None:
    csrf = sign_in(client, "sri")
    status, page = act(client, csrf, "12000001", to="diverifikasi")
    assert status == 200
    text = reply("status_diverifikasi", ticket="12000001")
    assert re.search(r'<tr class="status-sms-pending" data-status-sms="\d+">', page)
    assert html.escape(text, quote=False) in page
    # The gateway is down at every attempt: the page says it failed, and why.
    down = ApiSettings(status_sms_via="http", sms_reply_url=f"http://127.0.0.1:{free_port()}/")
    engine = client.app.state.engine  # type: ignore[attr-defined]
    now = utc_now()
    for delay in (timedelta(0), *RETRY_DELAYS):
        now += delay
        assert asyncio.run(send_due(engine, status_gateway(down), "r", now)) == 1
    page = client.get("/desk/complaints/12000001").text
    assert re.search(r'<tr class="status-sms-failed" data-status-sms="\d+">', page)
    assert "ConnectError" in page


def test_retention_deletes_status_sms_past_the_limit_and_keeps_the_stop_list(
    api: ApiHarness,
) -> None:
    for ticket in ("01000011", "01000012"):
        add(api, ticket)
        move(api, ticket, api.headers(Role.supervisor), to="diverifikasi")
    assert post(api, json={"number": CITIZEN, "text": "STOP"}).json()["kind"] == "stopped"
    now = utc_now()
    with Session(api.engine) as session:
        old = col(StatusSms.ticket) == "01000011"
        when = now - timedelta(days=400)
        session.execute(sa_update(StatusSms).where(old).values(created_at=when))
        session.execute(sa_update(SmsOptOut).values(since=when))
        session.commit()
    settings = ApiSettings()  # the default limits; the purge works on api.engine
    assert purge.pending(api.engine, settings, now)["status_sms"] == 1
    done = purge.run(api.engine, settings, trigger="cli", runner="test", now=now)
    assert done.counts["status_sms"] == 1
    assert [m.ticket for m in messages(api)] == ["01000012"]
    with Session(api.engine) as session:
        assert opted_out(session, CITIZEN)
