"""POST /events: idempotent ingest and Call rows, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.core.auth import Role
from api.events.hourly import Thresholds
from api.events.models import AgentEvent, AmiEvent, Call
from api.events.schemas import EventIn
from api.events.service import ingest
from tests.conftest import ApiHarness
from tests.integration.event_factory import T0, FakeCall, ami, member


def post(api: ApiHarness, events: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    response = api.client.post("/events", json={"events": events}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def calls(api: ApiHarness) -> dict[str, dict[str, Any]]:
    """Every Call row by caller, without surrogate ids."""
    with Session(api.engine) as session:
        rows = session.exec(select(Call)).all()
        out = {}
        for row in rows:
            data = row.model_dump(exclude={"id", "queue_log"})
            for key, value in data.items():
                if isinstance(value, datetime):
                    data[key] = value.replace(tzinfo=UTC) if value.tzinfo is None else value
            out[row.caller or row.linkedid] = data
        return out


def test_collector_token_is_required(api: ApiHarness) -> None:
    call = FakeCall("0811", T0, "answered", wait=4)
    body = {"events": call.events}
    assert api.client.post("/events", json=body).status_code == 401
    assert (
        api.client.post("/events", json=body, headers=api.headers(Role.supervisor)).status_code
        == 403
    )


def test_answered_call_row_holds_every_field(api: ApiHarness) -> None:
    call = FakeCall(
        "081234567890",
        T0,
        "answered",
        wait=7,
        talk=42,
        agent="petugas-1002",
        category="infrastruktur",
        ticket="10000001",
    )
    result = post(api, call.events, api.headers(Role.collector))
    assert result == {"accepted": len(call.events), "duplicates": 0}
    row = calls(api)["081234567890"]
    assert row == {
        "node": "cc1",
        "linkedid": call.uniqueid,
        "caller": "081234567890",
        "caller_name": "Warga",
        "line": "082282204761",
        "queue": "pengaduan",
        "position": 1,
        "arrived_at": T0,
        "ivr_ended_at": T0 + timedelta(seconds=4),
        "queue_entered_at": T0 + timedelta(seconds=4),
        "answered_at": T0 + timedelta(seconds=11),
        "ended_at": T0 + timedelta(seconds=53),
        "hold_seconds": 7,
        "wait_seconds": 7,
        "talk_seconds": 42,
        "agent": "petugas-1002",
        "category": "infrastruktur",
        "ticket": "10000001",
        "outcome": "answered",
        "urgent": False,
    }


def test_every_outcome(api: ApiHarness) -> None:
    batch = [
        FakeCall("01", T0, "answered", wait=3),
        FakeCall("02", T0, "abandoned", wait=12),
        FakeCall("03", T0, "abandoned", wait=4),
        FakeCall("04", T0, "ivr_only"),
        FakeCall("05", T0, "callback", wait=30, ticket="10000002"),
        FakeCall("06", T0, "exit_timeout", wait=300),
    ]
    post(api, [e for c in batch for e in c.events], api.headers(Role.collector))
    rows = calls(api)
    assert {k: (v["outcome"], v["wait_seconds"]) for k, v in rows.items()} == {
        "01": ("answered", 3),
        "02": ("abandoned", 12),
        "03": ("short_abandoned", 4),
        "04": ("ivr_only", None),
        "05": ("callback_requested", 30),
        "06": ("exit_timeout", 300),
    }
    assert rows["05"]["ticket"] == "10000002"
    assert rows["04"]["queue_entered_at"] is None


def test_same_batch_twice_changes_nothing(api: ApiHarness) -> None:
    batch = [
        e
        for c in (FakeCall("01", T0, "answered", wait=3), FakeCall("02", T0, "abandoned", wait=9))
        for e in c.events
    ]
    headers = api.headers(Role.collector)
    first = post(api, batch, headers)
    before = calls(api)
    summary = api.client.get(
        "/stats/summary", params={"from": "2026-11-28"}, headers=api.headers(Role.supervisor)
    ).json()
    second = post(api, batch, headers)
    assert first == {"accepted": len(batch), "duplicates": 0}
    assert second == {"accepted": 0, "duplicates": len(batch)}
    assert calls(api) == before
    again = api.client.get(
        "/stats/summary", params={"from": "2026-11-28"}, headers=api.headers(Role.supervisor)
    ).json()
    assert again == summary
    with Session(api.engine) as session:
        assert len(session.exec(select(AmiEvent)).all()) == len(batch)


def test_duplicates_inside_one_batch_count_once(api: ApiHarness) -> None:
    events = FakeCall("01", T0, "answered", wait=3).events
    result = post(api, events + events[:2], api.headers(Role.collector))
    assert result == {"accepted": len(events), "duplicates": 2}


def test_events_out_of_order_give_the_same_rows(api: ApiHarness) -> None:
    batch = [
        FakeCall("01", T0, "answered", wait=3, category="kependudukan", ticket="10000009"),
        FakeCall("02", T0, "abandoned", wait=12),
        FakeCall("03", T0, "callback", wait=30),
        FakeCall("04", T0, "ivr_only"),
    ]
    events = [e for c in batch for e in c.events]
    headers = api.headers(Role.collector)
    shuffled = events[::-1]
    random.Random(4).shuffle(shuffled)
    for start in range(0, len(shuffled), 3):  # small batches, scrambled order
        post(api, shuffled[start : start + 3], headers)
    scrambled = calls(api)
    expected = {
        "01": ("answered", 3, "kependudukan", "10000009"),
        "02": ("abandoned", 12, None, None),
        "03": ("callback_requested", 30, None, None),
        "04": ("ivr_only", None, None, None),
    }
    assert {
        k: (v["outcome"], v["wait_seconds"], v["category"], v["ticket"])
        for k, v in scrambled.items()
    } == expected
    assert scrambled["01"]["talk_seconds"] == 3
    assert scrambled["01"]["arrived_at"] == T0


def test_an_answer_arriving_after_the_leave_corrects_the_outcome(api: ApiHarness) -> None:
    call = FakeCall("01", T0, "answered", wait=3)
    headers = api.headers(Role.collector)
    early = [e for e in call.events if e["name"] not in {"AgentConnect", "AgentComplete"}]
    post(api, early, headers)
    assert calls(api)["01"]["outcome"] == "exit_timeout"  # all it knows for now
    post(api, call.events, headers)
    assert calls(api)["01"]["outcome"] == "answered"


def test_an_agent_complete_without_the_callers_fields_still_ends_the_call(
    api: ApiHarness,
) -> None:
    """app_queue sends AgentComplete without the caller's snapshot when the caller's channel
    was gone before app_queue's stasis thread got to it (seen on a busy node): only the
    officer's leg (Dest*) names the call."""
    call = FakeCall("01", T0, "answered", wait=3, talk=21)
    leg = f"{call.uniqueid}9"
    for envelope in call.events:
        if envelope["name"] == "AgentComplete":
            fields = envelope["fields"]
            for key in ("Channel", "Uniqueid", "Linkedid", "CallerIDNum", "CallerIDName"):
                del fields[key]
            fields |= {"DestChannel": "PJSIP/1001-0001", "DestUniqueid": leg}
            fields["DestLinkedid"] = call.uniqueid
    # Without queue_log lines: the AMI event alone must carry the talk time.
    post(api, call.events, api.headers(Role.collector))
    row = calls(api)["01"]
    assert (row["outcome"], row["talk_seconds"]) == ("answered", 21)
    with Session(api.engine) as session:
        [stored] = session.exec(select(AmiEvent).where(AmiEvent.name == "AgentComplete")).all()
    assert stored.linkedid == call.uniqueid


def test_unknown_and_odd_events_are_stored_without_harm(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    odd = [
        ami("SomethingNew", T0, Foo="bar"),
        ami("Hangup", T0, Uniqueid="x", Linkedid="x"),  # a call we know nothing else about
        ami("AgentConnect", T0, Linkedid="y", HoldTime="not-a-number"),
        {
            **ami("Newchannel", T0),
            "fields": {
                "Event": "Newchannel",
                "Timestamp": "garbage",
                "Linkedid": "z",
                "Uniqueid": "z",
                "CallerIDNum": "José",
            },
        },
    ]
    for stamp in ("inf", "1e20", "nan"):
        odd.append({**ami("Hangup", T0, Linkedid="x")})
        odd[-1]["fields"]["Timestamp"] = stamp
    assert post(api, odd, headers) == {"accepted": 7, "duplicates": 0}
    rows = calls(api)
    assert rows["x"]["outcome"] is None  # not known to be a citizen's call
    assert rows["y"]["outcome"] == "answered"
    assert rows["y"]["hold_seconds"] is None
    assert rows["José"]["arrived_at"] == T0  # a bad Timestamp falls back to received_at


def test_malformed_envelopes_are_422_and_store_nothing(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    good = ami("Newchannel", T0, Linkedid="a", Uniqueid="a")
    for bad in (
        {**good, "received_at": "2026-11-28T03:00:00"},  # naive time
        {**good, "id": ""},
        {**good, "fields": {"Event": ["a", "b"]}},
        {k: v for k, v in good.items() if k != "node"},
    ):
        response = api.client.post("/events", json={"events": [good, bad]}, headers=headers)
        assert response.status_code == 422
    with Session(api.engine) as session:
        assert session.exec(select(AmiEvent)).all() == []


def test_agent_changes_are_recorded_once(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    events = [
        member("QueueMemberAdded", T0, Paused="0"),
        member("QueueMemberPause", T0 + timedelta(minutes=5), Paused="1", PausedReason="lunch"),
        member("QueueMemberPause", T0 + timedelta(minutes=35), Paused="0"),
        member("QueueMemberStatus", T0 + timedelta(minutes=36), Status="2"),
        member("QueueMemberRemoved", T0 + timedelta(hours=2)),
    ]
    post(api, events, headers)
    post(api, events, headers)
    with Session(api.engine) as session:
        rows = session.exec(select(AgentEvent).order_by(col(AgentEvent.at))).all()
    assert [(r.kind, r.reason) for r in rows] == [
        ("login", None),
        ("pause", "lunch"),
        ("unpause", None),
        ("logout", None),
    ]


def test_concurrent_batches_for_the_same_calls_end_complete(api: ApiHarness) -> None:
    """Two API workers ingesting halves of the same calls at once: no half-derived row."""
    batch = [FakeCall(f"07{i:02d}", T0, "answered", wait=i, talk=10 + i) for i in range(20)]
    halves: list[list[EventIn]] = [[], []]
    for call in batch:
        for n, event in enumerate(call.events):
            halves[n % 2].append(EventIn.model_validate(event))
    barrier = threading.Barrier(2)

    def worker(events: list[EventIn]) -> None:
        with Session(api.engine) as session:
            barrier.wait()
            ingest(session, events, Thresholds())

    threads = [threading.Thread(target=worker, args=(half,)) for half in halves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = calls(api)
    assert {k: (v["outcome"], v["hold_seconds"], v["talk_seconds"]) for k, v in rows.items()} == {
        f"07{i:02d}": ("answered", i, 10 + i) for i in range(20)
    }


def test_values_too_long_or_too_big_for_their_columns_never_fail_a_batch(
    api: ApiHarness,
) -> None:
    """A caller's display name comes from the carrier and may be any length; counts may be
    garbage. On PostgreSQL either used to fail the whole batch, and the collector would
    resend it forever. Text is cut to its column; a number that doesn't fit is unknown."""
    headers = api.headers(Role.collector)
    long_id = "9" * 70
    name = "Siti Aisyah " * 30
    member_name = "petugas-" + "x" * 200
    call = FakeCall("0" * 100, T0, "answered", wait=4, agent=member_name)
    for event in call.events:
        event["fields"]["CallerIDName"] = name
        if event["name"] == "AgentConnect":
            event["fields"]["HoldTime"] = "99999999999"
        if event["name"] == "AgentComplete":
            event["fields"]["TalkTime"] = "inf"
    odd = [
        ami("Newchannel", T0, Linkedid=long_id, Uniqueid=long_id, CallerIDNum="0812"),
        member("QueueMemberPause", T0, member_name, Paused="1", PausedReason="r" * 300),
    ]
    assert post(api, [*call.events, *odd], headers)["accepted"] == len(call.events) + 2
    row = calls(api)["0" * 64]
    assert row["caller_name"] == name[:128]
    assert row["agent"] == member_name[:128]
    assert (row["hold_seconds"], row["talk_seconds"], row["outcome"]) == (None, None, "answered")
    with Session(api.engine) as session:
        (pause,) = session.exec(select(AgentEvent)).all()
        stored = session.exec(select(AmiEvent).where(col(AmiEvent.linkedid).is_(None))).all()
    assert (pause.agent, pause.reason) == (member_name[:128], "r" * 128)
    # A linkedid longer than any Asterisk makes belongs to no call; the event is kept.
    assert [e.fields["Linkedid"] for e in stored if e.name == "Newchannel"] == [long_id]
    assert "0812" not in calls(api)


def test_a_nul_in_any_text_is_stored_as_a_replacement_character(api: ApiHarness) -> None:
    """PostgreSQL text can't hold NUL; it used to fail the whole batch there."""
    headers = api.headers(Role.collector)
    call = FakeCall("0812\x00", T0, "answered", wait=4)
    for event in call.events:
        event["fields"]["CallerIDName"] = "Jo\x00sé"
    # Text that only looks like the escape is kept as it is.
    literal = ami("Newchannel", T0, Linkedid="b", Uniqueid="b", CallerIDNum="\\u0000")
    odd = ami("Odd\x00Event", T0, Linkedid="a\x00b", Uniqueid="a\x00b", **{"X\x00": "y"})
    assert post(api, [*call.events, odd, literal], headers)["accepted"] == len(call.events) + 2
    rows = calls(api)
    assert rows["0812\ufffd"]["caller_name"] == "Jo\ufffdsé"
    assert rows["a\ufffdb"]["caller"] is None
    assert rows["\\u0000"]["linkedid"] == "b"
    with Session(api.engine) as session:
        stored = session.exec(select(AmiEvent).where(AmiEvent.name == "Odd\ufffdEvent")).one()
    assert stored.fields["X\ufffd"] == "y"


def test_an_id_reused_for_another_call_is_a_duplicate_not_a_failure(api: ApiHarness) -> None:
    """Ids are checked against the calls' stored events; an id a faulty collector reuses
    for another call is found at insert and skipped, and that call is not derived from it."""
    headers = api.headers(Role.collector)
    first = ami("Newchannel", T0, Linkedid="a", Uniqueid="a", CallerIDNum="0811")
    again = {**first, "fields": {**first["fields"], "Linkedid": "b", "Uniqueid": "b"}}
    assert post(api, [first], headers) == {"accepted": 1, "duplicates": 0}
    assert post(api, [again], headers) == {"accepted": 0, "duplicates": 1}
    assert [row["linkedid"] for row in calls(api).values()] == ["a"]
