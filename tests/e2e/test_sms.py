"""SMS over the real sandbox: the carrier (the GSM gateway) sends SIP MESSAGEs to the call
center, whose dialplan hands them to the API process; the replies come back to the
carrier over AMI MessageSend, where its dialplan raises them as CarrierSms UserEvents."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from api.complaints.models import Complaint, ComplaintChannel
from api.core.auth import Role
from api.sms.commands import reply
from api.sms.segments import ELLIPSIS, fitted, segments
from api.sms.status_messages import StatusSms, of_ticket
from sandbox.harness import Sandbox
from sandbox.sms import LINE, CarrierPhones
from tests.e2e.calls import random_caller
from tests.e2e.ivr_node import wait_until
from tests.e2e.officers import control_env
from tests.e2e.services import ApiProcess, free_port, fresh_api_process

pytestmark = pytest.mark.e2e
REPLY_TIMEOUT = 20.0
TICKET = re.compile(r"\b(90[0-9]{6})\b")
UNICODE_TEXT = 'José 🌧️🚧 عبد الله bin Muhammad, RT 05 "Kedaton" ${SMS_API_TOKEN} 100%'


@contextmanager
def sms_process(sandbox: Sandbox, log: Path, env: dict[str, str]) -> Iterator[ApiProcess]:
    """An API process with ``env``; the sandbox's dialplan posts SMS to it."""
    with fresh_api_process(log, env) as process:
        token = process.token(Role.gateway, name="e2e-sms-in")
        sandbox.callcenter.rx(f"dialplan set global SMS_API_URL {process.url}")
        sandbox.callcenter.rx(f"dialplan set global SMS_API_TOKEN {token}")
        try:
            yield process
        finally:
            sandbox.callcenter.rx('dialplan set global SMS_API_TOKEN ""')


@pytest.fixture
def sms_api(sandbox: Sandbox, tmp_path: Path) -> Iterator[ApiProcess]:
    """An API process that replies over the sandbox's AMI."""
    with sms_process(sandbox, tmp_path / "api.log", control_env(sandbox)) as process:
        yield process


@pytest.fixture
async def phones(sandbox: Sandbox) -> AsyncIterator[CarrierPhones]:
    async with await CarrierPhones.connect(sandbox) as connected:
        yield connected


async def ask(phones: CarrierPhones, citizen: str, text: str) -> str:
    await phones.send(citizen, text)
    return (await phones.next_reply(citizen, REPLY_TIMEOUT)).body


def complaints_of(api: ApiProcess, number: str) -> list[Complaint]:
    with Session(api.engine) as session:
        statement = select(Complaint).where(Complaint.caller_number == number)
        return list(session.exec(statement.order_by(col(Complaint.id))).all())


async def test_complaint_status_help_and_retransmission_over_sip(
    sms_api: ApiProcess, phones: CarrierPhones
) -> None:
    citizen = random_caller()
    await phones.send(citizen, "lapor 1 jalan rusak di Jl. Teuku Umar")
    got = await phones.next_reply(citizen, REPLY_TIMEOUT)
    received = got.body
    match = TICKET.search(received)
    assert match, received
    ticket = match.group(1)
    assert received == reply("received", ticket=ticket, category="infrastruktur")
    assert f"sip:{LINE}@" in got.sender  # from the line the citizen texted
    [stored] = complaints_of(sms_api, citizen)
    assert (stored.ticket, stored.channel, stored.line) == (ticket, ComplaintChannel.sms, LINE)
    assert stored.text == "jalan rusak di Jl. Teuku Umar"

    assert await ask(phones, citizen, f"STATUS {ticket}") == reply(
        "status", ticket=ticket, status="diterima"
    )
    # Three words and no keyword: help (four would be a complaint, test below).
    assert await ask(phones, citizen, "apa kabar pak") == reply("help")
    assert await ask(phones, citizen, "Lapor 1  jalan rusak di Jl. Teuku Umar") == received
    assert len(complaints_of(sms_api, citizen)) == 1


async def test_a_reply_goes_out_through_a_peer_node_while_the_apis_own_is_down(
    sandbox: Sandbox, phones: CarrierPhones, tmp_path: Path
) -> None:
    """Another node (here the sandbox, named as the API's peer) sends the MessageSend when
    nothing listens on the API's own node's AMI port."""
    dead = free_port()
    env = {
        **control_env(sandbox),
        "LAPOR_API_AMI_PORT": str(dead),
        "LAPOR_API_AMI_NODE": "node1",
        "LAPOR_API_AMI_PEER_HOSTS": f"node2=127.0.0.1:{sandbox.config.ami_port}",
    }
    with sms_process(sandbox, tmp_path / "api.log", env):
        assert await ask(phones, random_caller(), "apa kabar pak") == reply("help")
    log = (tmp_path / "api.log").read_text()
    assert f"AMI MessageSend: node node1 (127.0.0.1:{dead}) unreachable" in log


async def test_the_citys_keyword_and_plain_complaints_over_sip(
    sms_api: ApiProcess, phones: CarrierPhones
) -> None:
    city, plain = random_caller(), random_caller()
    received = await ask(phones, city, "Bandar Lampung jalan rusak di Jl. Teuku Umar")
    match = TICKET.search(received)
    assert match, received
    assert received == reply("received", ticket=match.group(1), category="lainnya")
    [stored] = complaints_of(sms_api, city)
    assert (stored.ticket, stored.channel) == (match.group(1), ComplaintChannel.sms)
    assert stored.text == "jalan rusak di Jl. Teuku Umar"

    text = "Lampu jalan di depan pasar Tugu mati sejak minggu lalu"
    hinted = await ask(phones, plain, text)
    match = TICKET.search(hinted)
    assert match, hinted
    ticket = match.group(1)
    hint = reply("category_hint")
    assert hinted == reply("received", ticket=ticket, category="lainnya") + "\n" + hint
    [stored] = complaints_of(sms_api, plain)
    assert (stored.ticket, stored.category, stored.text) == (ticket, "lainnya", text)
    assert await ask(phones, plain, text) == hinted  # a retransmission: the same ticket
    assert await ask(phones, plain, "halo") == reply("help")
    assert len(complaints_of(sms_api, plain)) == 1


async def test_unicode_and_long_sms_are_stored_intact(
    sms_api: ApiProcess, phones: CarrierPhones
) -> None:
    short, long, too_long = random_caller(), random_caller(), random_caller()
    assert TICKET.search(await ask(phones, short, f"LAPOR 4 {UNICODE_TEXT}"))
    assert [c.text for c in complaints_of(sms_api, short)] == [UNICODE_TEXT]

    # About 1,000 bytes, the most Asterisk passes on (res_pjsip_messaging).
    body = (UNICODE_TEXT + " ") * 11
    assert 900 < len(f"lapor 3 {body.strip()}".encode()) < 1000
    assert TICKET.search(await ask(phones, long, f"lapor 3 {body.strip()}"))
    assert [c.text for c in complaints_of(sms_api, long)] == [body.strip()]

    # Past it the body arrives empty: the citizen is told, nothing is filed.
    assert await ask(phones, too_long, f"lapor 1 {'jalan rusak ' * 120}") == reply("too_long")
    assert complaints_of(sms_api, too_long) == []


async def test_http_inbound_passes_the_same_cases(sms_api: ApiProcess) -> None:
    headers = {"Authorization": f"Bearer {sms_api.token(Role.gateway, name='e2e-http')}"}
    citizen = random_caller()

    async with httpx.AsyncClient(base_url=sms_api.url, headers=headers) as client:

        async def send(**fields: str) -> httpx.Response:
            return await client.post("/sms/inbound", data=fields)

        first = await send(SMS_1_NUMBER=citizen, SMS_1_TEXT="lapor 1 jalan rusak di Jl. Teuku Umar")
        assert first.status_code == 201
        ticket = first.json()["ticket"]
        assert first.json()["reply"] == reply("received", ticket=ticket, category="infrastruktur")
        status = await send(number=citizen, text=f"status {ticket}")
        assert status.json()["reply"] == reply("status", ticket=ticket, status="diterima")
        assert (await send(number=citizen, text="???")).json()["reply"] == reply("help")
        again = await send(SMS_1_NUMBER=citizen, SMS_1_TEXT="LAPOR 1 jalan rusak di Jl. Teuku Umar")
        assert (again.status_code, again.json()["ticket"]) == (200, ticket)
        bad = await client.post("/sms/inbound", json={"text": "lapor 1 x"})
        assert bad.status_code == 422
    assert len(complaints_of(sms_api, citizen)) == 1


def status_rows(api: ApiProcess, ticket: str) -> list[StatusSms]:
    with Session(api.engine) as session:
        return of_ticket(session, ticket)


async def test_a_status_change_sends_one_sms_until_stop(
    sms_api: ApiProcess, phones: CarrierPhones
) -> None:
    citizen = random_caller()
    match = TICKET.search(await ask(phones, citizen, "lapor 1 jalan rusak di Jl. Teuku Umar"))
    assert match
    ticket = match.group(1)
    supervisor = {"Authorization": f"Bearer {sms_api.token(Role.supervisor)}"}
    leadership = {"Authorization": f"Bearer {sms_api.token(Role.leadership)}"}
    async with httpx.AsyncClient(base_url=sms_api.url) as client:

        async def move(headers: dict[str, str], **change: str) -> None:
            response = await client.post(
                f"/complaints/{ticket}/status", json=change, headers=headers
            )
            assert response.status_code == 200, response.text

        await move(supervisor, to="diverifikasi")
        # The API's own sender takes it over AMI MessageSend to the carrier.
        got = await phones.next_reply(citizen, REPLY_TIMEOUT)
        assert got.body == reply("status_diverifikasi", ticket=ticket)
        assert f"sip:{LINE}@" in got.sender
        # The carrier may have it before the sender has recorded it.
        sent = await wait_until(lambda: status_rows(sms_api, ticket)[0].state == "sent", 10)
        assert sent, status_rows(sms_api, ticket)
        assert [m.attempts for m in status_rows(sms_api, ticket)] == [1]

        assert await ask(phones, citizen, "STOP") == reply("stopped")
        await move(supervisor, to="dilaporkan")
        await move(leadership, to="ditindaklanjuti", unit="dinas-pu", note="Segera")
        assert [(m.to_status, m.state, m.reason) for m in status_rows(sms_api, ticket)] == [
            ("diverifikasi", "sent", None),
            ("ditindaklanjuti", "skipped", "opted_out"),
        ]
        # One more exchange: nothing came in between but its reply.
        status = await ask(phones, citizen, f"STATUS {ticket}")
        assert status == reply("status", ticket=ticket, status="ditindaklanjuti")
    bodies = [r.body for r in phones.replies(citizen)]
    assert bodies[1:] == [reply("status_diverifikasi", ticket=ticket), reply("stopped"), status]


async def test_status_sms_wait_out_a_stopped_sender_and_go_once_from_two_workers(
    sandbox: Sandbox, tmp_path: Path, phones: CarrierPhones
) -> None:
    """Changes made while the API sends nothing are kept; after a restart with two workers,
    each sending, every citizen gets their one SMS."""
    env = {**control_env(sandbox), "LAPOR_API_STATUS_SMS_VIA": "off", "LAPOR_API_WORKERS": "2"}
    with fresh_api_process(tmp_path / "api.log", env) as api:
        sandbox.callcenter.rx(f"dialplan set global SMS_API_URL {api.url}")
        sandbox.callcenter.rx(f"dialplan set global SMS_API_TOKEN {api.token(Role.gateway)}")
        try:
            citizens = [random_caller() for _ in range(3)]
            tickets = []
            for citizen in citizens:
                match = TICKET.search(
                    await ask(phones, citizen, "lapor 1 jalan rusak di Way Halim")
                )
                assert match
                tickets.append(match.group(1))
            headers = {"Authorization": f"Bearer {api.token(Role.supervisor)}"}
            async with httpx.AsyncClient(base_url=api.url, headers=headers) as client:
                for ticket in tickets:
                    change = {"to": "diverifikasi"}
                    response = await client.post(f"/complaints/{ticket}/status", json=change)
                    assert response.status_code == 200, response.text
                waiting = (await client.get("/sms/status-messages")).json()
            assert sorted(m["ticket"] for m in waiting) == sorted(tickets)
            assert {m["state"] for m in waiting} == {"pending"}

            api.stop()
            api.extra_env["LAPOR_API_STATUS_SMS_VIA"] = "sip"
            api.start()
            for citizen, ticket in zip(citizens, tickets, strict=True):
                got = await phones.next_reply(citizen, REPLY_TIMEOUT)
                assert got.body == reply("status_diverifikasi", ticket=ticket)

            def all_sent() -> bool:
                rows = [row for t in tickets for row in status_rows(api, t)]
                return all(row.state == "sent" for row in rows)

            assert await wait_until(all_sent, 10)
            for citizen, ticket in zip(citizens, tickets, strict=True):
                [row] = status_rows(api, ticket)
                assert row.attempts == 1
                # One more exchange each: nothing else came in between.
                status = await ask(phones, citizen, f"STATUS {ticket}")
                bodies = [r.body for r in phones.replies(citizen)]
                assert bodies[1:] == [reply("status_diverifikasi", ticket=ticket), status]
        finally:
            sandbox.callcenter.rx('dialplan set global SMS_API_TOKEN ""')


async def test_the_closing_note_arrives_cut_to_two_segments(
    sms_api: ApiProcess, phones: CarrierPhones
) -> None:
    citizen = random_caller()
    match = TICKET.search(await ask(phones, citizen, "lapor 1 jalan rusak di Jl. Teuku Umar"))
    assert match
    ticket = match.group(1)
    note = "Jalan sudah ditambal oleh tim UPT José 🚧 " * 20
    moves = [
        (Role.supervisor, {"to": "diverifikasi"}),
        (Role.supervisor, {"to": "dilaporkan"}),
        (Role.leadership, {"to": "ditindaklanjuti", "unit": "dinas-pu", "note": "Segera"}),
        (Role.supervisor, {"to": "selesai", "note": note}),
    ]
    async with httpx.AsyncClient(base_url=sms_api.url) as client:
        for role, change in moves:
            headers = {"Authorization": f"Bearer {sms_api.token(role)}"}
            response = await client.post(
                f"/complaints/{ticket}/status", json=change, headers=headers
            )
            assert response.status_code == 200, response.text
    bodies = [(await phones.next_reply(citizen, REPLY_TIMEOUT)).body for _ in range(3)]
    assert bodies[:2] == [
        reply("status_diverifikasi", ticket=ticket),
        reply("status_ditindaklanjuti", ticket=ticket, unit="Dinas Pekerjaan Umum"),
    ]
    # The whole cut text arrives intact over AMI and SIP (emoji and all).
    closing = bodies[2]
    assert closing == fitted(reply("status_selesai", ticket=ticket, note="{note}"), note, 2)
    assert closing.endswith(ELLIPSIS)
    assert segments(closing) == 2
    assert "🚧" in closing
