"""Inbound SMS over HTTP and from the dialplan, on SQLite and PostgreSQL: complaints filed
once, status and help replies from the catalog, replies to a real local HTTP gateway."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlmodel import Session, col, func, select

from api.complaints.models import Complaint, ComplaintChannel
from api.core.auth import Role
from api.core.clock import WorkCalendar
from api.core.settings import ApiSettings
from api.sms.commands import reply
from api.sms.service import InboundSms, SmsRules, handle_sms
from tests.conftest import ApiHarness
from tests.e2e.services import free_port

CITIZEN = "081234567890"
UNICODE_TEXT = "Jalan berlubang depan rumah José 🌧️🚧 — عبد الله بن محمد, RT 05/RW 02 “Kedaton”"


def post(api: ApiHarness, role: Role = Role.gateway, **kwargs: Any) -> Any:
    return api.client.post("/sms/inbound", headers=api.headers(role), **kwargs)


def complaints(api: ApiHarness) -> list[Complaint]:
    with Session(api.engine) as session:
        return list(session.exec(select(Complaint).order_by(col(Complaint.id))).all())


def use_settings(api: ApiHarness, **changes: Any) -> None:
    settings: ApiSettings = api.client.app.state.settings  # type: ignore[attr-defined]
    api.client.app.state.settings = settings.model_copy(update=changes)  # type: ignore[attr-defined]


def test_a_complaint_by_json_gets_its_ticket(api: ApiHarness) -> None:
    response = post(api, json={"number": CITIZEN, "text": "lapor 1 jalan rusak di Jl. Teuku Umar"})
    assert response.status_code == 201
    result = response.json()
    ticket = result["ticket"]
    assert ticket.startswith("90")
    assert len(ticket) == 8
    assert result["kind"] == "received"
    assert result["created"]
    assert not result["duplicate"]
    assert result["reply"] == reply("received", ticket=ticket, category="infrastruktur")
    assert result["delivery"] == "inline"
    [stored] = complaints(api)
    assert stored.ticket == ticket
    assert stored.channel == ComplaintChannel.sms
    assert stored.category == "infrastruktur"
    assert stored.text == "jalan rusak di Jl. Teuku Umar"
    assert stored.caller_number == CITIZEN
    assert stored.line == "082282204761"
    assert stored.uniqueid.startswith("sms-")


def test_gammu_run_on_receive_form_with_a_multipart_sms(api: ApiHarness) -> None:
    form = {
        "SMS_MESSAGES": "2",
        "SMS_1_NUMBER": "+6281234567890",
        "SMS_1_TEXT": "LAPOR   Pelayanan publik  antrean di kantor ",
        "SMS_2_TEXT": "kelurahan sangat lama",
        "to": "0822-8220-4762",
    }
    response = post(api, data=form)
    assert response.status_code == 201, response.text
    [stored] = complaints(api)
    assert stored.category == "pelayanan_publik"
    assert stored.text == "antrean di kantor kelurahan sangat lama"
    assert stored.caller_number == "081234567890"  # one citizen, one number: national form
    assert stored.line == "082282204762"


def test_gammu_decoded_text_wins_over_the_parts(api: ApiHarness) -> None:
    form = {
        "SMS_1_NUMBER": CITIZEN,
        "SMS_1_TEXT": "lapor 2 KT",
        "DECODED_1_TEXT": "lapor 2 KTP hilang",
    }
    assert post(api, data=form).status_code == 201
    assert complaints(api)[0].text == "KTP hilang"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Bandar Lampung jalan rusak di Jl. Teuku Umar", "lainnya"),
        ("BANDARLAMPUNG: jalan rusak di Jl. Teuku Umar", "lainnya"),
        ("bdl#1#jalan rusak di Jl. Teuku Umar", "infrastruktur"),
        ("bandar  lampung infrastruktur jalan rusak di Jl. Teuku Umar", "infrastruktur"),
    ],
)
def test_the_citys_published_keywords_file_a_complaint(
    api: ApiHarness, text: str, category: str
) -> None:
    response = post(api, json={"number": CITIZEN, "text": text})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["reply"] == reply("received", ticket=result["ticket"], category=category)
    [stored] = complaints(api)
    assert (stored.ticket, stored.category) == (result["ticket"], category)
    assert stored.text == "jalan rusak di Jl. Teuku Umar"


FREE_TEXT = "Jalan di depan SD 2 Kedaton berlubang, sudah 3 bulan"


def received_with_hint(ticket: str) -> str:
    return reply("received", ticket=ticket, category="lainnya") + "\n" + reply("category_hint")


def test_a_complaint_with_no_keyword_is_filed_under_lainnya_with_a_hint(api: ApiHarness) -> None:
    response = post(api, json={"number": CITIZEN, "text": f"  {FREE_TEXT} "})
    assert response.status_code == 201, response.text
    result = response.json()
    ticket = result["ticket"]
    assert (result["kind"], result["created"]) == ("received", True)
    assert result["reply"] == received_with_hint(ticket)
    [stored] = complaints(api)
    assert (stored.ticket, stored.category, stored.text) == (ticket, "lainnya", FREE_TEXT)
    assert (stored.channel, stored.caller_number) == (ComplaintChannel.sms, CITIZEN)
    assert stored.uniqueid.startswith("sms-")
    # Its ticket answers STATUS like any other; a retransmission files nothing new.
    status = post(api, json={"number": CITIZEN, "text": f"STATUS {ticket}"}).json()
    assert status["reply"] == reply("status", ticket=ticket, status="diterima")
    again = post(api, json={"number": CITIZEN, "text": FREE_TEXT.upper()})
    assert again.status_code == 200
    assert (again.json()["ticket"], again.json()["duplicate"]) == (ticket, True)
    assert again.json()["reply"] == result["reply"]
    assert len(complaints(api)) == 1


@pytest.mark.parametrize(
    "text", ["halo", "halo pak", "selamat pagi pak", "lampu jalan mati", "", "🙏 🙏 🙏 🙏 🙏"]
)
def test_a_short_text_with_no_keyword_gets_help(api: ApiHarness, text: str) -> None:
    result = post(api, json={"number": CITIZEN, "text": text}).json()
    assert (result["kind"], result["reply"], result["ticket"]) == ("help", reply("help"), None)
    assert complaints(api) == []


def test_a_complaint_with_no_keyword_keeps_the_size_limit(api: ApiHarness) -> None:
    response = post(api, json={"number": CITIZEN, "text": "jalan rusak " * 910})
    assert response.status_code == 422
    assert response.json()["error"] == "text_too_long"
    assert complaints(api) == []


def test_status_not_found_help_and_empty_complaint(api: ApiHarness) -> None:
    ticket = post(api, json={"sender": CITIZEN, "message": "lapor banjir"}).json()["ticket"]
    status = post(api, json={"sender": CITIZEN, "message": f"status {ticket}"})
    assert status.status_code == 200
    assert status.json()["kind"] == "status"
    assert status.json()["reply"] == reply("status", ticket=ticket, status="diterima")
    missing = post(api, json={"from": CITIZEN, "msg": "STATUS 90999999"}).json()
    assert missing["reply"] == reply("not_found", ticket="90999999")
    for garbage in ("halo", "halo pak", "", "🙏🙏", "status abc"):
        helped = post(api, json={"phone": CITIZEN, "body": garbage}).json()
        assert (helped["kind"], helped["reply"]) == ("help", reply("help"))
    empty = post(api, json={"msisdn": CITIZEN, "text": "LAPOR 1"}).json()
    assert (empty["kind"], empty["reply"]) == ("empty_complaint", reply("empty_complaint"))
    assert len(complaints(api)) == 1


def test_a_retransmission_files_nothing_new_and_gets_the_same_reply(api: ApiHarness) -> None:
    first = post(api, json={"number": CITIZEN, "text": "lapor 1 lampu jalan mati"}).json()
    again = post(api, json={"number": CITIZEN, "text": "LAPOR 1  Lampu jalan MATI "})
    assert again.status_code == 200
    assert again.json()["duplicate"]
    assert not again.json()["created"]
    assert (again.json()["ticket"], again.json()["reply"]) == (first["ticket"], first["reply"])
    other = post(api, json={"number": "081299998888", "text": "lapor 1 lampu jalan mati"})
    assert other.status_code == 201
    assert len(complaints(api)) == 2


def test_the_window_not_its_bucket_decides_what_is_a_retransmission(api: ApiHarness) -> None:
    rules = SmsRules(ticket_prefix="90", dedup_minutes=10)
    start = datetime(2026, 11, 28, 9, 59, 30, tzinfo=UTC)  # a bucket ends at 10:00

    def send(at: datetime) -> str | None:
        sms = InboundSms(
            sender=CITIZEN, text="lapor 3 loket tutup", line="082282204761", received_at=at
        )
        with Session(api.engine) as session:
            return handle_sms(session, sms, rules=rules, calendar=WorkCalendar([])).ticket

    first = send(start)
    assert send(start + timedelta(minutes=1)) == first  # across the bucket boundary
    assert send(start + timedelta(minutes=9)) == first
    later = send(start + timedelta(minutes=11))
    assert later != first
    assert [c.ticket for c in complaints(api)] == [first, later]
    assert int(later or 0) == int(first or 0) + 1


def test_copies_racing_on_many_threads_file_one_complaint(api: ApiHarness) -> None:
    rules = SmsRules(ticket_prefix="90", dedup_minutes=10)
    now = datetime.now(UTC)

    def send(number: str) -> str | None:
        sms = InboundSms(
            sender=number, text="lapor 1 jembatan retak", line="082282204761", received_at=now
        )
        with Session(api.engine) as session:
            return handle_sms(session, sms, rules=rules, calendar=WorkCalendar([])).ticket

    senders = [CITIZEN] * 8 + ["081211110000", "081222220000"] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(send, senders))
    assert len(set(tickets[:8])) == 1
    assert len(set(tickets)) == 3
    stored = sorted(c.ticket for c in complaints(api))
    assert stored == sorted(set(t for t in tickets if t))
    assert stored == ["90000001", "90000002", "90000003"]


def test_long_and_unicode_texts_are_stored_intact(api: ApiHarness) -> None:
    long_text = (UNICODE_TEXT + " ") * 60
    for text in (UNICODE_TEXT, long_text.strip()):
        response = post(api, json={"number": CITIZEN, "text": f"lapor 4 {text}"})
        assert response.status_code == 201, response.text
    form = post(api, data={"number": "081277776666", "text": f"lapor {UNICODE_TEXT}"})
    assert form.status_code == 201
    texts = [c.text for c in complaints(api)]
    assert texts == [UNICODE_TEXT, long_text.strip(), UNICODE_TEXT]
    assert len(texts[1] or "") > 4000


def test_a_nul_in_the_text_does_not_cost_the_complaint(api: ApiHarness) -> None:
    response = post(api, json={"number": CITIZEN, "text": "lapor 4 lampu\x00 mati"})
    assert response.status_code == 201, response.text
    assert [c.text for c in complaints(api)] == ["lampu\ufffd mati"]


@pytest.mark.parametrize(
    ("kwargs", "status", "error"),
    [
        ({"json": {"text": "lapor 1 x"}}, 422, "no_sender"),
        ({"json": {"number": "PEMKOT", "text": "lapor 1 x"}}, 422, "bad_sender"),
        ({"json": {"number": "0812 x"}}, 422, "bad_sender"),
        ({"json": {"number": CITIZEN}}, 422, "no_text"),
        ({"json": {"number": CITIZEN, "text": ["lapor"]}}, 422, "invalid_input"),
        ({"json": {"number": True, "text": "x"}}, 422, "invalid_input"),
        ({"json": [CITIZEN, "lapor 1 x"]}, 422, "bad_json"),
        ({"json": {"number": CITIZEN, "text": "x" * 10_001}}, 422, "text_too_long"),
        (
            {"content": b'{"number": "0812', "headers": {"Content-Type": "application/json"}},
            422,
            "bad_json",
        ),
        (
            {"content": b"\xff\xfe{}", "headers": {"Content-Type": "application/json"}},
            422,
            "bad_json",
        ),
        ({"content": b"lapor 1 x", "headers": {"Content-Type": "text/plain"}}, 415, None),
        ({}, 415, None),
        ({"data": {"number": CITIZEN}}, 422, "no_text"),
        (
            {
                "content": b"number=0812345678&text=lapor%201%20%FF%FE",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            },
            None,
            None,
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    api: ApiHarness, kwargs: dict[str, Any], status: int | None, error: str | None
) -> None:
    request = dict(kwargs)
    headers = {**api.headers(Role.gateway), **request.pop("headers", {})}
    response = api.client.post("/sms/inbound", headers=headers, **request)
    if status is None:  # bytes that are not UTF-8 in a form: filed or refused, never a 500
        assert response.status_code < 500, response.text
        return
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json()["error"] == error
    assert complaints(api) == []


def test_only_gateways_may_post(api: ApiHarness) -> None:
    body = {"number": CITIZEN, "text": "lapor 1 x"}
    assert api.client.post("/sms/inbound", json=body).status_code == 401
    assert post(api, Role.ivr, json=body).status_code == 403
    assert post(api, Role.agent, json=body).status_code == 403


# ---- The dialplan's sms-in context (base64 fields) ----


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sip(api: ApiHarness, body: dict[str, str]) -> Any:
    return api.client.post("/sms/inbound/sip", json=body, headers=api.headers(Role.gateway))


def test_an_sms_from_the_dialplan(api: ApiHarness) -> None:
    # The AMI reply goes nowhere here (no Asterisk); it is logged, the response unchanged.
    use_settings(api, ami_port=free_port())
    sender = b64(f'"Warga" <sip:{CITIZEN}@127.0.0.1:5070>;tag=ab12')
    body = {"from": sender, "to": b64("082282204761"), "text": b64(f"lapor 1 {UNICODE_TEXT}")}
    response = sip(api, body)
    assert response.status_code == 201, response.text
    assert response.json()["delivery"] == "queued"
    [stored] = complaints(api)
    assert (stored.text, stored.caller_number) == (UNICODE_TEXT, CITIZEN)
    again = sip(api, {**body, "length": "120"})
    assert again.status_code == 200
    assert again.json()["duplicate"]
    lost = sip(api, {"from": sender, "text": "", "length": "1300"}).json()
    assert (lost["kind"], lost["reply"]) == ("too_long", reply("too_long"))
    helped = sip(api, {"from": sender, "text": b64("apa kabar")}).json()
    assert helped["reply"] == reply("help")
    assert len(complaints(api)) == 1


def test_a_complaint_with_no_keyword_from_the_dialplan_is_filed_once(api: ApiHarness) -> None:
    use_settings(api, ami_port=free_port())
    body = {"from": b64(f"<sip:{CITIZEN}@127.0.0.1:5070>"), "text": b64(FREE_TEXT)}
    first = sip(api, body)
    assert first.status_code == 201, first.text
    assert first.json()["reply"] == received_with_hint(first.json()["ticket"])
    again = sip(api, {**body, "length": str(len(FREE_TEXT))})
    assert (again.status_code, again.json()["ticket"]) == (200, first.json()["ticket"])
    lost = sip(api, {"from": body["from"], "text": "", "length": "1300"}).json()
    assert lost["kind"] == "too_long"
    assert sip(api, {"from": body["from"], "text": b64("halo")}).json()["kind"] == "help"
    assert [c.category for c in complaints(api)] == ["lainnya"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": b64("lapor 1 x")},
        {"from": "not base64!", "text": b64("lapor 1 x")},
        {"from": "w4k=\u0080", "text": b64("lapor 1 x")},
        {"from": b64("<sip:gateway@127.0.0.1>"), "text": b64("lapor 1 x")},
        {"from": b64(f"sip:{CITIZEN}@h"), "text": "%%%"},
        {"from": b64(f"sip:{CITIZEN}@h"), "text": b64("x"), "length": "9" * 11},
    ],
)
def test_bad_dialplan_input_gets_a_4xx(api: ApiHarness, body: dict[str, str]) -> None:
    assert sip(api, body).status_code == 422
    assert complaints(api) == []


# ---- Replies to an HTTP gateway: a real local HTTP server stands in for it ----


@dataclass
class Gateway:
    """A local HTTP server that records what it is sent and answers ``status``."""

    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append((dict(self.headers), self.rfile.read(length)))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_the_reply_is_posted_to_the_gateway(api: ApiHarness, gateway: Gateway) -> None:
    use_settings(api, sms_reply_url=gateway.url, sms_reply_authorization="Bearer gw-secret")
    result = post(api, json={"number": CITIZEN, "text": "lapor 2 akta kelahiran"}).json()
    assert result["delivery"] == "sent"
    [(headers, raw)] = gateway.requests
    assert headers["Authorization"] == "Bearer gw-secret"
    assert json.loads(raw) == {"number": CITIZEN, "text": result["reply"]}
    assert result["ticket"] in result["reply"]


def test_the_reply_as_a_form(api: ApiHarness, gateway: Gateway) -> None:
    use_settings(api, sms_reply_url=gateway.url, sms_reply_format="form")
    result = post(api, data={"SMS_1_NUMBER": CITIZEN, "SMS_1_TEXT": "status 1"}).json()
    [(headers, raw)] = gateway.requests
    assert "Authorization" not in headers
    assert parse_qs(raw.decode()) == {"number": [CITIZEN], "text": [result["reply"]]}


@pytest.mark.parametrize("down", [True, False])
def test_a_gateway_failure_keeps_the_complaint(
    api: ApiHarness, gateway: Gateway, down: bool
) -> None:
    gateway.status = 503
    url = f"http://127.0.0.1:{free_port()}/send" if down else gateway.url
    use_settings(api, sms_reply_url=url)
    response = post(api, json={"number": CITIZEN, "text": "lapor 1 got mampet"})
    assert response.status_code == 201
    result = response.json()
    assert result["delivery"] == "failed"
    assert result["delivery_error"]
    assert [c.ticket for c in complaints(api)] == [result["ticket"]]
    # The citizen sends it again: no new complaint, the same reply, delivered this time.
    gateway.status = 200
    use_settings(api, sms_reply_url=gateway.url)
    again = post(api, json={"number": CITIZEN, "text": "lapor 1 got mampet"}).json()
    assert (again["ticket"], again["delivery"]) == (result["ticket"], "sent")
    with Session(api.engine) as session:
        assert session.exec(select(func.count()).select_from(Complaint)).one() == 1
