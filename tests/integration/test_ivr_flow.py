"""The call flow against a scripted channel: hangups and failures never lose a complaint."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx

from agi_scripts.call import call
from agi_scripts.common import with_services
from agi_scripts.services import Services
from agi_scripts.urgent import URGENT
from ivr import AGIReply, AGIRequest, Channel, parse_reply
from ivr.lapor_api import LaporApi
from ivr.protocol import request_from_env
from ivr.session import run_call
from ivr.settings import IvrSettings
from tests.integration.agi_peer import agi_headers

Responder = Callable[[str], str]


class ScriptedChannel(Channel):
    """Answers each command from ``respond``; keys pressed come from ``keys``."""

    def __init__(self, request: AGIRequest, keys: list[str], record: str) -> None:
        super().__init__(request)
        self.keys = keys
        self.record = record
        self.sent: list[str] = []

    async def send(self, command_line: str) -> AGIReply:
        self.sent.append(command_line)
        return parse_reply(self.respond(command_line))

    def respond(self, line: str) -> str:
        if line.startswith("GET DATA"):
            if not self.keys:
                return "200 result= (timeout)"
            return f"200 result={self.keys.pop(0)}"
        if line.startswith("STREAM FILE"):
            return "200 result=0 endpos=1000"
        if line.startswith("RECORD FILE"):
            if self.record == "hangup":
                self.hung_up = True
                return "200 result=-1 (hangup) endpos=24000"
            return "200 result=35 (dtmf) endpos=24000"
        if line == "GET VARIABLE RECORDING_DIR":
            return "200 result=1 (/rec)"
        if line == "GET VARIABLE LAPOR_LINE":
            return "200 result=1 (082282204761)"
        if line.startswith("GET VARIABLE"):
            return "200 result=0"
        return "200 result=0"

    def executed(self, app: str) -> list[str]:
        return [line for line in self.sent if line.startswith(f"EXEC {app} ")]


def services(
    tmp_path: Path,
    api_up: bool,
    stored: dict[str, dict[str, object]],
    urgent: frozenset[str] = frozenset({"darurat"}),
) -> Services:
    def handle(request: httpx.Request) -> httpx.Response:
        if not api_up:
            raise httpx.ConnectError("refused", request=request)
        if request.method == "GET":  # the blocklist: this caller is not on it
            return httpx.Response(404, json={"error": "not_blocked"})
        body = httpx.Response(200, content=request.content).json()
        stored[body["ticket"]] = body
        return httpx.Response(201, json=body)

    settings = IvrSettings(spool_dir=tmp_path, node_id=12, urgent_categories=urgent)
    built = Services.from_settings(settings)
    built.api = LaporApi("http://api", "t", transport=httpx.MockTransport(handle))
    built.deliverer.api = built.api
    return built


def channel(keys: list[str], record: str = "dtmf") -> ScriptedChannel:
    request = request_from_env(agi_headers("call", callerid="081299990000"))
    return ScriptedChannel(request, keys, record)


async def test_main_path_saves_reads_back_twice_and_sets_the_ticket(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = channel(["1", "3", "3"])  # new complaint, pelayanan publik, save
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status == "ok"
    assert list(stored) == ["12000001"]
    assert stored["12000001"]["category"] == "pelayanan_publik"
    # Ticket and call id: a recording never lands on another call's file.
    assert stored["12000001"]["recording_path"] == "/rec/12000001-1700000000-1.wav"
    assert stored["12000001"]["caller_number"] == "081299990000"
    [playback] = chan.executed("Playback")
    digits = re.findall(r"angka-(\d)", playback)
    assert "".join(digits) == "12000001" * 2
    assert chan.variables_set["__LAPOR_TICKET"] == "12000001"
    assert chan.variables_set["LAPOR_EXIT"] == "complaint"
    assert URGENT not in chan.variables_set
    assert svc.outbox.pending() == []
    await svc.aclose()


async def test_an_emergency_is_filed_without_a_recording_and_queued_first(
    tmp_path: Path,
) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = channel(["1", "5"])  # new complaint, darurat
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status == "ok"
    assert stored["12000001"]["category"] == "darurat"
    assert stored["12000001"]["recording_path"] is None
    assert not [line for line in chan.sent if line.startswith("RECORD FILE")]
    assert chan.variables_set[URGENT] == "1"
    assert chan.variables_set["__LAPOR_TICKET"] == "12000001"
    assert chan.variables_set["LAPOR_EXIT"] == "emergency"
    assert chan.executed("Playback") == []  # no ticket read back: the officer has it
    assert any("darurat-ke-petugas" in line for line in chan.sent)
    await svc.aclose()


async def test_a_category_the_city_marks_urgent_is_recorded_and_queued_first(
    tmp_path: Path,
) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored, urgent=frozenset({"darurat", "infrastruktur"}))
    chan = channel(["1", "1", "3"])  # new complaint, infrastruktur, save
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status == "ok"
    assert stored["12000001"]["recording_path"] == "/rec/12000001-1700000000-1.wav"
    assert chan.variables_set[URGENT] == "1"
    assert chan.variables_set["LAPOR_EXIT"] == "complaint"
    await svc.aclose()


async def test_hangup_during_recording_still_saves_the_complaint(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, True, stored)
    chan = channel(["1", "2"], record="hangup")
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status in ("ok", "hangup")
    assert stored["12000001"]["category"] == "kependudukan"
    assert chan.executed("Playback") == []  # nobody left to hear the ticket
    assert any("LaporTicket" in line for line in chan.executed("UserEvent"))
    await svc.aclose()


async def test_api_down_the_ticket_is_still_read_and_kept_in_the_outbox(tmp_path: Path) -> None:
    stored: dict[str, dict[str, object]] = {}
    svc = services(tmp_path, False, stored)
    chan = channel(["1", "4", "3"])
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status == "ok"
    assert stored == {}
    [pending] = svc.outbox.pending()
    assert (pending.key, pending.payload["category"]) == ("12000001", "lainnya")
    assert len(chan.executed("Playback")) == 1
    await svc.aclose()


async def test_three_bad_keys_then_an_officer(tmp_path: Path) -> None:
    svc = services(tmp_path, True, {})
    chan = channel(["7", "", "8"])
    outcome = await run_call(chan, with_services(call, svc))
    assert outcome.status == "ok"
    assert chan.variables_set["LAPOR_EXIT"] == "attempts"
    await svc.aclose()


async def test_a_broken_spool_fails_the_handler_and_reports_it(tmp_path: Path) -> None:
    (tmp_path / "ticket-sequence-12").mkdir()  # cannot be opened as the counter file
    svc = services(tmp_path, True, {})
    chan = channel(["1", "1"])
    outcome = await run_call(chan, with_services(call, svc))
    # The dialplan queues the call whatever the status; the error names the cause.
    assert outcome.status == "failed"
    assert chan.variables_set["LAPOR_STATUS"] == "FAILED"
    assert "IsADirectoryError" in chan.variables_set["LAPOR_ERROR"]
    await svc.aclose()
