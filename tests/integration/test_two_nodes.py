"""Two call-center nodes, one collector each, one API: every figure is the union.

Each node's Asterisk has its own ``systemname``, so its call ids look like
``node1-1795890000.12``; the collectors post as nodes ``node1`` and ``node2``, at the same
time. node2's collector was away for part of the day: one of its calls reaches the API
only through its queue_log (``POST /queue-log/node2``, the reconcile after a
reconnect), and the reconcile sends again lines AMI had delivered. Two calls carry the
same linkedid on both nodes (nodes without a systemname): they are two calls. One officer
is in both nodes' queues and shows once, in the state of the busier node.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from api.core.auth import Role
from api.events.models import Call
from tests.conftest import ApiHarness
from tests.integration.event_factory import FakeCall
from tests.integration.test_live_snapshot import queue_member, snapshot
from tests.integration.test_stats_api import expected, get, pick
from tests.integration.test_wallboard_pages import sign_in, tile


def node_calls(node: str, now: datetime, officers: tuple[str, str]) -> list[FakeCall]:
    """A node's finished calls, with its systemname in every call id."""
    first, second = officers
    done = [
        ("answered", 8, first, 40),
        ("answered", 35, second, 30),
        ("abandoned", 40, first, 0),
        ("abandoned", 2, first, 0),  # a short abandon
        ("exit_timeout", 25, first, 0),
    ]
    return [
        FakeCall(
            f"0812{node[-1]}000000{n}",
            now - timedelta(minutes=50 - 7 * n),
            outcome,
            wait=wait,
            talk=talk or 3,
            agent=agent,
            category="infrastruktur",
            node=node,
            uniqueid=f"{node}-1795890000.{n + 1}",
        )
        for n, (outcome, wait, agent, talk) in enumerate(done)
    ]


def waiting(node: str, caller: str, joined: datetime, uniqueid: str) -> FakeCall:
    call = FakeCall(caller, joined, "answered", node=node, uniqueid=uniqueid)
    call.events = [e for e in call.events if e["name"] in {"Newchannel", "QueueCallerJoin"}]
    call.queue_log = call.queue_log[:1]  # ENTERQUEUE only
    return call


def queue_entry(call: FakeCall, at: datetime) -> dict[str, str]:
    """A QueueEntry answer of QueueStatus for a caller waiting at ``at``."""
    return {
        "Queue": "pengaduan",
        "Position": "1",
        "Channel": f"PJSIP/callcenter-{call.uniqueid}",
        "Uniqueid": call.uniqueid,
        "Linkedid": call.uniqueid,
        "CallerIDNum": call.caller,
        "CallerIDName": "Warga",
        "Wait": str(int((at - call.at).total_seconds()) - call.ivr),
        "Priority": "0",
    }


def test_stats_live_and_the_wallboard_are_the_union_of_both_nodes(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    node1 = node_calls("node1", now, ("petugas-1001", "petugas-1002"))
    node2 = node_calls("node2", now, ("petugas-2001", "petugas-2002"))
    # Without a systemname both nodes number their calls alike: still two calls.
    same_id = "1795890000.777"
    node1.append(
        FakeCall("081210000777", now - timedelta(minutes=9), "answered", wait=4, talk=50,
                 agent="petugas-1002", node="node1", uniqueid=same_id)
    )  # fmt: skip
    node2.append(
        FakeCall("081220000777", now - timedelta(minutes=8), "abandoned", wait=30,
                 node="node2", uniqueid=same_id)
    )  # fmt: skip
    waiting1 = waiting("node1", "081210000999", now - timedelta(seconds=40), "node1-1795899999.1")
    waiting2 = waiting("node2", "081220000999", now - timedelta(seconds=70), "node2-1795899999.1")
    snapshots = {
        "node1": snapshot(
            now - timedelta(hours=1),
            [
                queue_member("petugas-1001"),
                queue_member("petugas-1002", Paused="1", PausedReason="sholat"),
            ],
            node="node1",
        ),
        "node2": snapshot(
            now - timedelta(seconds=5),
            [
                queue_member("petugas-2001"),
                queue_member("petugas-2002", InCall="1"),
                # On both nodes' queues (LAPOR_API_AMI_PEER_HOSTS): in a call on this one.
                queue_member("petugas-1001", InCall="1"),
            ],
            [queue_entry(waiting2, now - timedelta(seconds=5))],
            node="node2",
        ),
    }
    # node2's collector missed its first call's events: only its queue_log has it.
    missed, *heard = node2
    batches: dict[str, list[dict[str, Any]]] = {
        "node1": [e for c in [*node1, waiting1] for e in c.events] + [snapshots["node1"]],
        "node2": [e for c in [*heard, waiting2] for e in c.events] + [snapshots["node2"]],
    }
    queue_logs: dict[str, list[str]] = {
        "node2": [line for c in [missed, *heard, waiting2] for line in c.queue_log]
    }
    collector = api.headers(Role.collector)

    def deliver(node: str) -> list[int]:
        """One collector's posts: its events in batches of 20, then its reconcile."""
        events, codes = batches[node], []
        for first in range(0, len(events), 20):
            batch = {"events": events[first : first + 20]}
            codes.append(api.client.post("/events", json=batch, headers=collector).status_code)
        if node in queue_logs:
            lines = {"lines": queue_logs[node]}
            sent = api.client.post(f"/queue-log/{node}", json=lines, headers=collector)
            codes.append(sent.status_code)
        return codes

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = [code for node_codes in pool.map(deliver, batches) for code in node_codes]
    assert set(codes) == {200}

    done = node1 + node2
    with Session(api.engine) as session:
        stored = sorted(session.exec(select(Call.node, Call.linkedid)).all())
    assert stored == sorted((c.node, c.uniqueid) for c in [*done, waiting1, waiting2])
    window = {"from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}
    want = expected(done)
    # The two callers still waiting entered the queue too (offered, and in the abandon
    # rate's denominator: offered less short abandons).
    want["offered"] += 2
    want["abandon_rate_pct"] = round(100 * want["abandoned"] / (want["offered"] - 2), 2)
    summary = get(api, "/stats/summary", **window)
    assert pick(summary, want) == want
    assert (want["answered"], want["abandoned"], want["short_abandoned"]) == (5, 3, 2)
    by_agent = {a["agent"]: a["calls"] for a in get(api, "/stats/agents", **window)}
    answered = [c.agent for c in done if c.outcome == "answered"]
    assert {a: n for a, n in by_agent.items() if n} == {a: answered.count(a) for a in answered}

    live = get(api, "/stats/live")
    assert [(c["node"], c["linkedid"], c["position"]) for c in live["waiting"]] == [
        ("node2", "node2-1795899999.1", 1),
        ("node1", "node1-1795899999.1", 2),
    ]
    assert {a["agent"]: (a["state"], a["reason"]) for a in live["agents"]} == {
        "petugas-1001": ("on_call", None),  # free on node1, busy on node2: busy
        "petugas-1002": ("paused", "sholat"),
        "petugas-2001": ("available", None),
        "petugas-2002": ("on_call", None),
    }

    # The routes that take a call id accept a node's: no recording, not a 422.
    supervisor = api.headers(Role.supervisor)
    for call in ("node1-1795890000.1", same_id):
        path = f"/calls/{call}/recording"
        answer = api.client.get(path, params={"node": "node1"}, headers=supervisor)
        assert (answer.status_code, answer.json()["error"]) == (404, "no_recording")

    sign_in(api, Role.supervisor)
    page = api.client.get("/wallboard/board").text
    today = get(api, "/stats/summary")
    assert tile(page, "waiting") == "2"
    assert tile(page, "offered") == str(today["offered"])
    assert (tile(page, "available"), tile(page, "paused")) == ("1", "1")
    for officer in ("petugas-1001", "petugas-1002", "petugas-2001", "petugas-2002"):
        assert f'data-agent="{officer}"' in page
