"""/stats/live from each node's QueueStatus snapshot plus the events after it.

The collector posts a ``LaporQueueSnapshot`` at every AMI (re)connect; these tests post
such snapshots with the events around them, as the collector would, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from api.events.schemas import QUEUE_SNAPSHOT
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall, ami, member
from tests.integration.test_stats_api import get, post


def queue_member(name: str, **fields: str) -> dict[str, str]:
    """A QueueMember answer of QueueStatus, as Asterisk 22 sends it (seen in the sandbox)."""
    return {
        "Queue": "pengaduan",
        "Name": name,
        "Location": f"PJSIP/{name[-4:]}",
        "StateInterface": f"PJSIP/{name[-4:]}",
        "Membership": "dynamic",
        "Penalty": "0",
        "CallsTaken": "0",
        "LastCall": "0",
        "LastPause": "0",
        "LoginTime": "1795988003",
        "InCall": "0",
        "Status": "1",
        "Paused": "0",
        "PausedReason": "",
        "Wrapuptime": "0",
        **fields,
    }


def snapshot(
    at: datetime,
    members: list[dict[str, str]],
    entries: list[dict[str, str]] | None = None,
    node: str = "cc1",
) -> dict[str, Any]:
    event = ami(QUEUE_SNAPSHOT, at, node)
    event["fields"] = {
        "Timestamp": f"{at.timestamp():.6f}",
        "Queues": json.dumps([{"Queue": "pengaduan", "Calls": str(len(entries or []))}]),
        "Members": json.dumps(members),
        "Entries": json.dumps(entries or []),
    }
    return event


def states(api: ApiHarness) -> dict[str, tuple[str, str | None]]:
    return {a["agent"]: (a["state"], a["reason"]) for a in get(api, "/stats/live")["agents"]}


def test_officers_who_joined_before_the_collector_are_shown(api: ApiHarness) -> None:
    now = datetime.now(UTC)
    members = [
        queue_member("petugas-1001"),
        queue_member("petugas-1002", Paused="1", PausedReason="istirahat", LastPause="1"),
    ]
    post(api, [], [snapshot(now - timedelta(seconds=5), members)])
    assert states(api) == {
        "petugas-1001": ("available", None),
        "petugas-1002": ("paused", "istirahat"),
    }


def test_changes_after_the_snapshot_apply_and_those_before_do_not(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    taken = now - timedelta(seconds=30)
    before = [
        # Seen by an earlier collector session; the snapshot knows better.
        member("QueueMemberAdded", taken - timedelta(hours=1), agent="petugas-1003", Paused="0"),
        member("QueueMemberPause", taken - timedelta(minutes=5), Paused="1", PausedReason="x"),
    ]
    after = [
        member(
            "QueueMemberPause",
            taken + timedelta(seconds=10),
            agent="petugas-1002",
            Paused="1",
            PausedReason="sholat",
        ),
        member("QueueMemberAdded", taken + timedelta(seconds=12), agent="petugas-1005", Paused="0"),
    ]
    members = [queue_member("petugas-1001"), queue_member("petugas-1002")]
    post(api, [], [*before, snapshot(taken, members), *after])
    assert states(api) == {
        "petugas-1001": ("available", None),  # unpaused while no collector listened
        "petugas-1002": ("paused", "sholat"),
        "petugas-1003": ("logged_out", None),  # left while no collector listened
        "petugas-1005": ("available", None),
    }
    # An older snapshot delivered late (a re-sent batch) replaces nothing.
    post(api, [], [snapshot(taken - timedelta(minutes=1), [queue_member("petugas-1003")])])
    assert states(api)["petugas-1003"] == ("logged_out", None)
    # A newer one replaces the node's state: everyone left.
    post(api, [], [snapshot(now, [])])
    assert {state for state, _ in states(api).values()} == {"logged_out"}


def test_a_call_in_progress_at_the_snapshot_and_its_end_after(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    taken = now - timedelta(seconds=20)
    # The call was answered while no collector listened: only the snapshot knows.
    members = [queue_member("petugas-1001", InCall="1", Status="2"), queue_member("petugas-1002")]
    # A call the API thinks is still going, but which ended while no collector listened.
    stale = FakeCall("0897", taken - timedelta(minutes=5), "answered", wait=2, agent="petugas-1002")
    stale.events = [e for e in stale.events if e["name"] not in {"AgentComplete", "Hangup"}]
    post(api, [stale], [snapshot(taken, members)])
    assert states(api) == {
        "petugas-1001": ("on_call", None),
        "petugas-1002": ("available", None),
    }
    # It ends after the snapshot: the AgentComplete arrives.
    ended = ami(
        "AgentComplete",
        taken + timedelta(seconds=10),
        MemberName="petugas-1001",
        Linkedid="1795890000.990",
        Uniqueid="1795890000.990",
        HoldTime="1",
        TalkTime="40",
        Reason="caller",
    )
    post(api, [], [ended])
    assert states(api)["petugas-1001"] == ("available", None)


def test_waiting_callers_come_from_the_snapshot_and_the_events_after(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    taken = now - timedelta(seconds=20)

    def queued(caller: str, at: datetime) -> FakeCall:
        call = FakeCall(caller, at, "answered", wait=3)
        call.events = [
            e for e in call.events if e["name"] in {"Newchannel", "QueueCallerJoin", "UserEvent"}
        ]
        return call

    still = queued("0811", taken - timedelta(seconds=40))  # in the snapshot: waiting
    gone = queued("0812", taken - timedelta(seconds=50))  # not in it: left unseen
    later = queued("0813", taken + timedelta(seconds=5))  # joined after it
    unseen = {  # joined and is waiting while no collector listened: no call row at all
        "Queue": "pengaduan",
        "Position": "2",
        "Channel": "PJSIP/trunk-00000009",
        "Uniqueid": "1795890000.77",
        "Linkedid": "1795890000.77",
        "CallerIDNum": "0814",
        "CallerIDName": "Warga",
        "Wait": "25",
    }
    entry = {
        **unseen,
        "Uniqueid": still.uniqueid,
        "Linkedid": still.uniqueid,
        "CallerIDNum": "0811",
        "Position": "1",
        "Wait": "40",
    }
    post(
        api,
        [still, gone, later],
        [snapshot(taken, [queue_member("petugas-1001")], [entry, unseen])],
    )
    waiting = get(api, "/stats/live")["waiting"]
    assert [(c["caller"], c["position"]) for c in waiting] == [
        ("0811", 1),
        ("0814", 2),
        ("0813", 3),
    ]
    assert waiting[1]["wait_seconds"] >= 44
    assert waiting[1]["linkedid"] == "1795890000.77"


def test_a_node_without_a_snapshot_keeps_the_events_only_view(api: ApiHarness) -> None:
    now = datetime.now(UTC)
    post(
        api,
        [],
        [
            member(
                "QueueMemberAdded",
                now - timedelta(hours=1),
                agent="petugas-2001",
                node="cc2",
                Paused="0",
            ),
            snapshot(now - timedelta(seconds=5), [queue_member("petugas-1001")], node="cc1"),
        ],
    )
    assert states(api) == {
        "petugas-1001": ("available", None),
        "petugas-2001": ("available", None),
    }
