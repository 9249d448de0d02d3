"""Call derivation from events: pure logic, any order, AMI and queue_log alike."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from api.events.derive import Event, as_int, derive_call, event_time

T = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def ami(name: str, offset: float, **fields: str) -> Event:
    return Event(
        name, T + timedelta(seconds=offset), {"Uniqueid": "1.1", "Linkedid": "1.1", **fields}
    )


def ql(offset: int, verb: str, *data: str, agent: str = "NONE") -> Event:
    fields = {"Verb": verb, "CallId": "1.1", "Queue": "pengaduan", "Agent": agent}
    fields.update({f"Data{i}": d for i, d in enumerate(data, start=1)})
    return Event("QueueLog", T + timedelta(seconds=offset), fields)


def test_queue_log_alone_gives_an_answered_call() -> None:
    row = derive_call(
        "1.1",
        [
            ql(0, "ENTERQUEUE", "", "0812", "1"),
            ql(9, "CONNECT", "9", "1.2", "1", agent="petugas-1001"),
            ql(69, "COMPLETECALLER", "9", "60", "1", agent="petugas-1001"),
        ],
        5,
    )
    assert (row.caller, row.queue, row.hold_seconds, row.talk_seconds) == (
        "0812",
        "pengaduan",
        9,
        60,
    )
    assert (row.agent, row.outcome, row.ended_at) == (
        "petugas-1001",
        "answered",
        T + timedelta(seconds=69),
    )


@pytest.mark.parametrize(
    ("verb", "data", "outcome", "wait"),
    [
        ("ABANDON", ("3", "3", "4"), "short_abandoned", 4),
        ("ABANDON", ("3", "3", "5"), "abandoned", 5),
        ("EXITWITHTIMEOUT", ("2", "2", "300"), "exit_timeout", 300),
        ("EXITWITHKEY", ("1", "2", "2", "45"), "callback_requested", 45),
    ],
)
def test_queue_log_exits(verb: str, data: tuple[str, ...], outcome: str, wait: int) -> None:
    row = derive_call("1.1", [ql(0, "ENTERQUEUE", "", "0812", "1"), ql(wait, verb, *data)], 5)
    assert (row.outcome, row.wait_seconds) == (outcome, wait)


def test_every_order_of_an_abandoned_call_gives_the_same_row() -> None:
    events = [
        ami("Newchannel", 0, CallerIDNum="0812", Exten="082282204761"),
        ami("UserEvent", 3, UserEvent="LaporIvrDone", Line="082282204761"),
        ami("QueueCallerJoin", 3, Queue="pengaduan", Position="2", CallerIDNum="0812"),
        ami("QueueCallerAbandon", 10, Queue="pengaduan", HoldTime="7"),
        ami("QueueCallerLeave", 10, Queue="pengaduan"),
        ami("Hangup", 10),
    ]
    rows = {repr(derive_call("1.1", list(order), 5)) for order in itertools.permutations(events)}
    (row,) = rows
    assert "outcome='abandoned'" in row
    assert "wait_seconds=7" in row


def test_varsets_and_user_events_carry_ticket_and_category() -> None:
    row = derive_call(
        "1.1",
        [
            ami("VarSet", 1, Variable="LAPOR_CATEGORY", Value="pelayanan_publik"),
            ami("VarSet", 2, Variable="LAPOR_TICKET", Value="10000007"),
            ami("QueueCallerJoin", 3, Queue="pengaduan"),
            ami("UserEvent", 60, UserEvent="LaporCallback", Ticket="10000007", Number="0812"),
            ami("QueueCallerLeave", 60, Queue="pengaduan"),
        ],
        5,
    )
    assert (row.category, row.ticket, row.outcome, row.wait_seconds) == (
        "pelayanan_publik",
        "10000007",
        "callback_requested",
        57,
    )


@pytest.mark.parametrize(
    ("events", "urgent"),
    [
        ([ami("UserEvent", 3, UserEvent="LaporIvrDone", Urgent="1")], True),
        ([ami("UserEvent", 3, UserEvent="LaporIvrDone", Urgent="")], False),
        ([ami("UserEvent", 3, UserEvent="LaporIvrDone")], False),
        ([ami("VarSet", 2, Variable="LAPOR_URGENT", Value="1")], True),
        ([], False),
    ],
)
def test_an_urgent_call_is_known_by_the_ivr_done_event(events: list[Event], urgent: bool) -> None:
    joined = ami("QueueCallerJoin", 4, Queue="pengaduan")
    assert derive_call("1.1", [*events, joined], 5).urgent is urgent


def test_a_call_still_in_progress_has_no_outcome() -> None:
    row = derive_call(
        "1.1", [ami("Newchannel", 0), ami("QueueCallerJoin", 3, Queue="pengaduan")], 5
    )
    assert row.outcome is None
    assert derive_call("1.1", [], 5).outcome is None


def test_event_time_prefers_asterisks_timestamp() -> None:
    received = T + timedelta(seconds=5)
    assert event_time({"Timestamp": f"{T.timestamp():.6f}"}, received) == T
    assert event_time({"Timestamp": "nonsense"}, received) == received
    assert event_time({}, received) == received


def test_ivr_only_is_for_citizens_calls_not_our_own_outbound_calls() -> None:
    inbound = [ami("Newchannel", 0, Context="from-trunk"), ami("Hangup", 2)]
    outbound = [ami("Newchannel", 0, Context="callback"), ami("Hangup", 20)]
    reported = [ami("UserEvent", 1, UserEvent="LaporTicket", Ticket="LPR-1"), ami("Hangup", 2)]
    assert derive_call("1.1", inbound, 5).outcome == "ivr_only"
    assert derive_call("1.1", outbound, 5).outcome is None
    assert derive_call("1.1", reported, 5).outcome == "ivr_only"
    dialled = [
        ami("Newchannel", 0, Context="callback"),
        ami("UserEvent", 30, UserEvent="LaporCallbackDial", DialStatus="ANSWER"),
        ami("Hangup", 31),
    ]
    assert derive_call("1.1", dialled, 5).outcome is None


def test_as_int_takes_whole_numbers_a_column_can_hold() -> None:
    assert [as_int(v) for v in ("12", "12.7", "-3", " 4 ", "2147483647")] == [
        12,
        12,
        -3,
        4,
        2**31 - 1,
    ]
    for bad in (None, "", "x", "inf", "-inf", "nan", "1e12", "2147483648"):
        assert as_int(bad) is None, bad


@pytest.mark.parametrize(
    "transfer",
    [
        ql(40, "BLINDTRANSFER", "0721000101", "agents", "9", "31", "1", agent="tari"),
        ql(40, "ATTENDEDTRANSFER", "BRIDGE", "b-1", "9", "31", "1", agent="tari"),
        ql(40, "ATTENDEDTRANSFER", "LINK", "PJSIP/a", "PJSIP/b", "9", "31", "1", agent="tari"),
        ami("AgentComplete", 40, MemberName="tari", HoldTime="9", TalkTime="31", Reason="transfer"),
    ],
)
def test_a_transferred_call_counts_as_answered_by_the_officer(transfer: Event) -> None:
    row = derive_call(
        "1.1",
        [
            ql(0, "ENTERQUEUE", "", "0812", "1"),
            ql(9, "CONNECT", "9", "1.2", "1", agent="tari"),
            transfer,
        ],
        5,
    )
    assert (row.outcome, row.agent, row.hold_seconds, row.talk_seconds) == (
        "answered",
        "tari",
        9,
        31,
    )
    assert row.ended_at == T + timedelta(seconds=40)
