"""The virtual-hold dialer's state machine on SQLite and PostgreSQL: one placeholder per
callback (also between racing replicas and across an API restart), officers kept off it
while it waits, the retry schedule, the SMS at the end, a vanished placeholder placed
again without an attempt, and a placeholder's queue_log lines joining its call.

Asterisk is replaced by a recording stand-in for the control client (as in
test_callbacks_api.py); placeholders' calls arrive as the collector would post their
events. The real Originate, dialplan and calls are in tests/e2e/test_virtual_hold.py.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.callbacks import vhold
from api.callbacks.dial import CallbackDial
from api.callbacks.hold import CallbackHold
from api.callbacks.missed_sms import missed_text
from api.callbacks.service import CallbackCreate, create_callback
from api.core.ami_control import AmiCommandError
from api.core.auth import Role
from api.core.clock import utc_now
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.events.models import Call
from api.queue_log import import_file
from tests.conftest import ApiHarness
from tests.integration.event_factory import ami
from tests.integration.test_callbacks_api import (
    asterisk,  # noqa: F401 (fixture)
    listed,
    migrated,
    officer,
    post_events,
    request_callback,
)
from tests.integration.test_console_pages import (
    app_engine,  # noqa: F401 (fixture)
    sign_in,
)

SETTINGS = ApiSettings(callback_retry_minutes=[2, 5])
LINE = "082282204761"


@dataclass
class Placer:
    """Stands in for AmiControl.place_in_queue: records, or refuses like Asterisk."""

    fail: bool = False
    placed: list[dict[str, Any]] = field(default_factory=list)

    async def place_in_queue(self, **action: Any) -> None:
        if self.fail:
            raise AmiCommandError("Originate failed")
        self.placed.append(action)


@dataclass
class Texts:
    fail: bool = False
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    async def send(self, number: str, line: str, text: str) -> None:
        if self.fail:
            raise OSError("gateway down")
        self.sent.append((number, line, text))


def run_tick(
    api: ApiHarness,
    placer: Placer,
    texts: Texts,
    now: datetime | None = None,
    settings: ApiSettings = SETTINGS,
) -> vhold.Tick:
    place, text = placer.place_in_queue, missed_text()
    return asyncio.run(vhold.tick(api.engine, place, texts.send, settings, text, now=now))


def placeholder(
    linkedid: str, number: str, *, answered_with: str | None, at: datetime | None = None
) -> list[dict[str, Any]]:
    """A placeholder's events: ;1 (the linkedid) and ;2 (waits in the queue); taken by
    an officer and the citizen dialled (``answered_with`` the DIALSTATUS), or gone
    unanswered (``None``)."""
    at = at or utc_now()
    queue_side = f"{linkedid}-q"
    callback = linkedid.split("-")[1]

    def e(name: str, offset: int, uniqueid: str, **fields: str) -> dict[str, Any]:
        return ami(
            name,
            at + timedelta(seconds=offset),
            Uniqueid=uniqueid,
            Linkedid=linkedid,
            CallerIDNum=number,
            CallerIDName="Callback",
            **fields,
        )

    events = [
        e("Newchannel", 0, linkedid, Context="vhold-wait", Exten="wait"),
        e("Newchannel", 0, queue_side, Context="vhold-wait", Exten="wait"),
        e("QueueCallerJoin", 0, queue_side, Queue="pengaduan", Position="1", Count="1"),
    ]
    if answered_with is None:
        return [
            *events,
            e("QueueCallerAbandon", 9, queue_side, Queue="pengaduan", Position="1", HoldTime="9"),
            e("Hangup", 9, linkedid, Cause="16"),
        ]
    agent = {"Queue": "pengaduan", "MemberName": "siti", "HoldTime": "9"}
    report = {"Callback": callback, "DialStatus": answered_with}
    return [
        *events,
        e("AgentConnect", 9, queue_side, RingTime="1", **agent),
        e("QueueCallerLeave", 9, queue_side, Queue="pengaduan", Position="1", Count="0"),
        e("UserEvent", 40, linkedid, UserEvent="LaporCallbackDial", **report),
        e("AgentComplete", 40, queue_side, TalkTime="31", Reason="agent", **agent),
        e("Hangup", 40, linkedid, Cause="16"),
    ]


def item(api: ApiHarness, callback: str) -> dict[str, Any]:
    response = api.client.get(f"/callbacks/{callback}", headers=api.headers(Role.supervisor))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def new_callback(api: ApiHarness, number: str = "081234567890") -> str:
    return request_callback(api, number, utc_now() - timedelta(minutes=3), "12345")


def test_one_placeholder_keeps_the_place_and_officers_cannot_dial_it(
    api: ApiHarness,
    asterisk: Any,  # noqa: F811
) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    assert run_tick(api, placer, texts).placed == [callback]
    [action] = placer.placed
    linkedid = action["channel_id"]
    assert linkedid.startswith(f"vh-{callback}-")
    assert action["queue_channel_id"] == f"{linkedid}-q"
    assert action["number"] == "081234567890"
    assert action["variables"]["LAPOR_CALLBACK"] == callback
    assert action["variables"]["LAPOR_CALLBACK_LINE"] == LINE
    assert action["wait_seconds"] == SETTINGS.callback_hold_wait_minutes * 60
    # Waiting in the queue: no second placeholder, and the console shows it as queued.
    post_events(api, placeholder(linkedid, "081234567890", answered_with=None)[:3])
    assert run_tick(api, placer, texts).placed == []
    shown = item(api, callback)
    assert (shown["hold"], shown["claimed_by"], shown["attempts"]) == ("in_queue", "antrean", 0)
    siti = officer(api, "siti")
    refused = api.client.post(f"/callbacks/{callback}/dial", headers=siti)
    assert refused.status_code == 409, refused.text
    assert asterisk.originated == []


def test_racing_replicas_place_one_placeholder(database_url: str) -> None:
    engines = [migrated(database_url) for _ in range(4)]
    with Session(engines[0]) as session:
        now = utc_now()
        create_callback(
            session,
            data=CallbackCreate(
                request_id="race-0001",
                number="081234567890",
                line=LINE,
                uniqueid="1.1",
                queue_entered_at=now,
                requested_at=now,
            ),
        )
    start = threading.Barrier(len(engines))
    placements: list[list[vhold.Placement]] = [[] for _ in engines]

    def replica(index: int) -> None:
        start.wait()
        with Session(engines[index]) as session:
            placements[index] = vhold.plan(session, SETTINGS, utc_now())

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(p) for p in placements) == 1
    for engine in engines:
        engine.dispose()


def test_not_reached_retries_on_the_schedule_then_one_sms(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    now = utc_now()
    outcomes = ["BUSY", "NOANSWER", "BUSY"]  # 2 delays: three attempts, then the SMS
    for attempt, status in enumerate(outcomes, start=1):
        assert run_tick(api, placer, texts, now).placed == [callback]
        linkedid = placer.placed[-1]["channel_id"]
        post_events(api, placeholder(linkedid, "081234567890", answered_with=status))
        done = run_tick(api, placer, texts, now)
        shown = item(api, callback)
        assert shown["attempts"] == attempt
        assert shown["outcome"] == ("busy" if status == "BUSY" else "no_answer")
        if attempt < len(outcomes):
            assert done.placed == []
            assert shown["hold"] == "scheduled"
            delay = timedelta(minutes=SETTINGS.callback_retry_minutes[attempt - 1])
            # Not before its time, then at it.
            assert run_tick(api, placer, texts, now + delay - timedelta(seconds=1)).placed == []
            now += delay
    assert texts.sent == [("081234567890", LINE, missed_text())]
    assert item(api, callback)["hold"] == "sms_sent"
    # Finished: nothing more, and it stays on the officers' list (never reached).
    later = run_tick(api, placer, texts, now + timedelta(hours=1))
    assert (later.placed, later.texted) == ([], [])
    assert len(placer.placed) == len(outcomes)
    assert callback in [i["id"] for i in listed(api)]


def test_a_failed_sms_is_kept_shown_and_sent_again(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts(fail=True)
    settings_one_try = ApiSettings(callback_retry_minutes=[])
    run_tick(api, placer, texts, settings=settings_one_try)
    linkedid = placer.placed[-1]["channel_id"]
    post_events(api, placeholder(linkedid, "081234567890", answered_with="NOANSWER"))
    failed_at = utc_now()
    run_tick(api, placer, texts, failed_at, settings=settings_one_try)
    shown = item(api, callback)
    assert shown["hold"] == "sms_due"
    assert "gateway down" in shown["sms_error"]
    texts.fail = False
    # Not hammered every tick: the gateway gets it again after SMS_RETRY.
    early = failed_at + vhold.SMS_RETRY - timedelta(seconds=5)
    assert run_tick(api, placer, texts, early, settings=settings_one_try).texted == []
    done = run_tick(api, placer, texts, failed_at + vhold.SMS_RETRY, settings=settings_one_try)
    assert done.texted == [callback]
    assert (item(api, callback)["hold"], item(api, callback)["sms_error"]) == ("sms_sent", None)
    assert len(placer.placed) == 1


def test_an_sms_a_dead_worker_left_sending_is_sent_after_its_lease(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    settings_one_try = ApiSettings(callback_retry_minutes=[])
    run_tick(api, placer, texts, settings=settings_one_try)
    linkedid = placer.placed[-1]["channel_id"]
    post_events(api, placeholder(linkedid, "081234567890", answered_with="NOANSWER"))
    taken_at = utc_now()
    # A worker takes the SMS and dies before sending it or recording anything.
    with Session(api.engine) as session:
        assert vhold.plan(session, settings_one_try, taken_at) == []
        assert [sms.callback_id for sms in vhold._sms_due(session, taken_at)] == [callback]
    assert item(api, callback)["hold"] == "sms_sending"
    early = taken_at + vhold.SMS_LEASE - timedelta(seconds=5)
    assert run_tick(api, placer, texts, early, settings=settings_one_try).texted == []
    late = run_tick(api, placer, texts, taken_at + vhold.SMS_LEASE, settings=settings_one_try)
    assert late.texted == [callback]
    assert texts.sent == [("081234567890", LINE, missed_text())]


def test_reached_ends_it(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    run_tick(api, placer, texts)
    linkedid = placer.placed[0]["channel_id"]
    post_events(api, placeholder(linkedid, "081234567890", answered_with="ANSWER"))
    assert run_tick(api, placer, texts, utc_now() + timedelta(hours=1)).placed == []
    assert callback not in [i["id"] for i in listed(api)]
    shown = item(api, callback)
    assert (shown["outcome"], shown["attempts"], shown["hold"]) == ("reached", 1, "reached")
    assert texts.sent == []


def test_a_vanished_placeholder_is_placed_again_without_an_attempt(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    run_tick(api, placer, texts)
    first = placer.placed[0]["channel_id"]
    # It left the queue unanswered (its wait ran out; an Asterisk restart's cut-off ends
    # the call record the same way, api/events/restarts.py).
    post_events(api, placeholder(first, "081234567890", answered_with=None))
    assert run_tick(api, placer, texts).placed == [callback]
    assert placer.placed[1]["channel_id"] != first
    shown = item(api, callback)
    assert (shown["attempts"], shown["hold"], shown["outcome"]) == (0, "in_queue", None)
    # The gone placeholder is the dialer's, not an abandoned citizen's call to call back.
    assert [i["id"] for i in listed(api)] == [callback]


def test_a_placeholder_refused_before_the_queue_counts_as_an_attempt(api: ApiHarness) -> None:
    """[vhold-wait] refuses a number that is not one (it never gets that far: the request
    was checked); such a placeholder must not be placed again at every tick for ever."""
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    run_tick(api, placer, texts)
    linkedid = placer.placed[0]["channel_id"]
    refused = placeholder(linkedid, "081234567890", answered_with=None)
    post_events(api, [refused[0], {**refused[-1], "id": "cc1-refused-hangup"}])
    assert run_tick(api, placer, texts).placed == []
    shown = item(api, callback)
    assert (shown["hold"], shown["attempts"], shown["outcome"]) == ("scheduled", 1, "no_answer")


def test_an_api_restart_finds_the_waiting_placeholder(api: ApiHarness) -> None:
    callback = new_callback(api)
    placer, texts = Placer(), Texts()
    run_tick(api, placer, texts)
    linkedid = placer.placed[0]["channel_id"]
    post_events(api, placeholder(linkedid, "081234567890", answered_with=None)[:3])
    # The API was down longer than a claim lasts: the claim ran out, the placeholder not.
    with Session(api.engine) as session:
        dial = session.get(CallbackDial, callback)
        assert dial is not None
        dial.claimed_until = utc_now() - timedelta(minutes=1)
        session.add(dial)
        session.commit()
    assert run_tick(api, placer, texts, utc_now() + timedelta(hours=1)).placed == []
    assert item(api, callback)["claimed_by"] == "antrean"


def test_a_refused_originate_frees_it_without_an_attempt(api: ApiHarness) -> None:
    callback = new_callback(api)
    texts = Texts()
    assert run_tick(api, Placer(fail=True), texts).failed == [callback]
    shown = item(api, callback)
    assert (shown["attempts"], shown["claimed_by"], shown["hold"]) == (0, None, "scheduled")
    assert run_tick(api, Placer(), texts).placed == [callback]


def test_a_placeholders_queue_log_lines_join_its_call(api: ApiHarness, tmp_path: Path) -> None:
    linkedid = "vh-r7-0123456789ab"
    post_events(api, placeholder(linkedid, "081234567890", answered_with="BUSY"))
    epoch = int(utc_now().timestamp())
    lines = [
        f"{epoch}|{linkedid}-q|pengaduan|NONE|ENTERQUEUE||081234567890|1",
        f"{epoch + 9}|{linkedid}-q|pengaduan|siti|CONNECT|9|1795890000.99|1",
        f"{epoch + 40}|{linkedid}-q|pengaduan|siti|COMPLETEAGENT|9|31|1",
    ]
    log = tmp_path / "queue_log"
    log.write_text("\n".join(lines) + "\n")
    import_file(api.engine, log, node="cc1", thresholds=Thresholds())
    with Session(api.engine) as session:
        calls = session.exec(select(Call).where(Call.caller == "081234567890")).all()
        holds = session.exec(select(CallbackHold)).all()
    assert [(c.linkedid, c.outcome, c.agent) for c in calls] == [(linkedid, "answered", "siti")]
    assert len(calls[0].queue_log or "") > 0
    assert holds == []


def greyed(page: str, callback: str) -> bool:
    """Whether the callback's dial button is disabled on the page."""
    button = re.search(rf'<button hx-post="/console/callbacks/{callback}/dial"[^>]*>', page)
    assert button is not None
    return re.search(r"\sdisabled[\s>]", button.group(0)) is not None


def test_the_console_shows_it_queued_or_scheduled_and_greys_the_dial_button(
    app_engine: tuple[TestClient, Engine],  # noqa: F811
) -> None:
    client, engine = app_engine
    harness = ApiHarness(client, engine)
    callback = new_callback(harness)
    placer, texts = Placer(), Texts()
    run_tick(harness, placer, texts)
    sign_in(client)
    queued = client.get("/console/callbacks").text
    entry = queued[queued.index(f'id="cb-{callback}"') :]
    assert 'data-hold="in_queue"' in entry
    assert "Antre otomatis" in entry
    assert greyed(entry, callback)
    linkedid = placer.placed[0]["channel_id"]
    post_events(harness, placeholder(linkedid, "081234567890", answered_with="BUSY"))
    run_tick(harness, placer, texts)
    scheduled = client.get("/console/callbacks").text
    entry = scheduled[scheduled.index(f'id="cb-{callback}"') :]
    assert 'data-hold="scheduled"' in entry
    assert "dicoba lagi otomatis pukul" in entry
    assert not greyed(entry, callback)
