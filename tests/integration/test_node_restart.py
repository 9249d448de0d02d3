"""Calls that died with Asterisk are closed when it reports its new start (FullyBooted),
and a collector's queue_log reconcile (``POST /queue-log/{node}``) stores lines once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.integration.event_factory import T0, FakeCall, ami
from tests.integration.test_events_ingest import calls, post


def until(call: FakeCall, last: str) -> list[dict[str, Any]]:
    """The call's events up to and including the first named ``last``: the rest never
    happened, because Asterisk died there."""
    out = []
    for envelope in call.events:
        out.append(envelope)
        if envelope["name"] == last:
            return out
    raise AssertionError(f"no {last} in the call")


def booted(uptime: int, at: Any, node: str = "cc1") -> dict[str, Any]:
    """FullyBooted as Asterisk sends it at login: no Timestamp, received ``at``."""
    event = ami("FullyBooted", at, node, Uptime=str(uptime), LastReload=str(uptime))
    del event["fields"]["Timestamp"]
    return event


def test_calls_open_at_a_restart_end_there_and_nothing_else_changes(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    waiting = FakeCall("0811", T0, "abandoned", wait=60)
    talking = FakeCall("0812", T0, "answered", wait=2, talk=600)
    in_ivr = FakeCall("0813", T0, "abandoned")
    finished = FakeCall("0814", T0, "answered", wait=1, talk=5)
    elsewhere = FakeCall("0815", T0, "abandoned", wait=60, node="cc2")
    post(api, until(waiting, "QueueCallerJoin"), headers)
    post(api, until(talking, "AgentConnect"), headers)
    post(api, until(in_ivr, "Newchannel"), headers)
    post(api, finished.events, headers)
    post(api, until(elsewhere, "QueueCallerJoin"), headers)
    # Asterisk came back 30 s after the calls began; the collector logged in 10 s later.
    restart = T0 + timedelta(seconds=30)
    assert post(api, [booted(10, restart + timedelta(seconds=10))], headers)["accepted"] == 1
    rows = calls(api)
    assert {c: (rows[c]["outcome"], rows[c]["ended_at"]) for c in ("0811", "0812", "0813")} == {
        "0811": ("cut_off", restart),
        "0812": ("answered", restart),
        "0813": ("cut_off", restart),
    }
    assert rows["0812"]["talk_seconds"] is None  # nobody knows how long they talked
    assert rows["0814"]["outcome"] == "answered"
    assert rows["0814"]["ended_at"] == finished.at + timedelta(seconds=1 + 4 + 5)
    assert rows["0815"]["ended_at"] is None  # another node's call
    # Every login repeats FullyBooted: nothing new is stored for the same calls.
    again = post(api, [booted(70, restart + timedelta(seconds=70))], headers)
    assert again == {"accepted": 1, "duplicates": 0}
    assert calls(api) == rows
    live = api.client.get("/stats/live", headers=api.headers(Role.supervisor)).json()
    assert [c for c in live["waiting"] if c.get("node") == "cc1"] == []


def test_a_call_seen_after_the_restart_is_not_cut_off(api: ApiHarness) -> None:
    """Events delivered late (a batch behind the FullyBooted) still end the call as they
    say: the cut-off only stands while nothing of the call is later."""
    headers = api.headers(Role.collector)
    call = FakeCall("0821", T0, "answered", wait=2, talk=20)
    post(api, until(call, "AgentConnect"), headers)
    post(api, [booted(0, T0 + timedelta(seconds=10))], headers)
    assert calls(api)["0821"]["talk_seconds"] is None
    post(api, call.events, headers)  # the rest arrives: the call was alive after all
    row = calls(api)["0821"]
    assert (row["outcome"], row["talk_seconds"]) == ("answered", 20)
    assert row["ended_at"] == call.at + timedelta(seconds=4 + 2 + 20)


def test_a_waiting_caller_cut_off_is_on_the_callback_list(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    call = FakeCall("081234567890", T0, "abandoned", wait=60)
    post(api, until(call, "QueueCallerJoin"), headers)
    post(api, [booted(5, T0 + timedelta(seconds=40))], headers)
    listed = api.client.get("/callbacks", headers=api.headers(Role.agent)).json()
    assert [c["number"] for c in listed if c.get("number") == call.caller] == [call.caller]


def test_queue_log_lines_are_stored_once_and_derive_the_call(api: ApiHarness) -> None:
    headers = api.headers(Role.collector)
    call = FakeCall("0831", T0, "answered", wait=4, talk=30)
    body = {"lines": [*call.queue_log, "not a queue_log line"]}
    first = api.client.post("/queue-log/cc1", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "duplicates": 0, "malformed": 1}
    again = api.client.post("/queue-log/cc1", json=body, headers=headers).json()
    assert again == {"accepted": 0, "duplicates": 3, "malformed": 1}
    row = calls(api)["0831"]
    assert (row["outcome"], row["hold_seconds"], row["talk_seconds"]) == ("answered", 4, 30)
    # The AMI events of the same call add to it; nothing is counted twice.
    post(api, call.events, headers)
    summary = api.client.get(
        "/stats/summary",
        params={"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()},
        headers=api.headers(Role.supervisor),
    ).json()
    assert (summary["offered"], summary["answered"]) == (1, 1)


def test_queue_log_route_needs_the_collector_role_and_limits_its_body(api: ApiHarness) -> None:
    line = "1795890000|1795890000.1|pengaduan|NONE|ENTERQUEUE||0811|1"
    for role in (Role.supervisor, Role.ivr, Role.admin):
        response = api.client.post(
            "/queue-log/cc1", json={"lines": [line]}, headers=api.headers(role)
        )
        assert response.status_code == 403
    assert api.client.post("/queue-log/cc1", json={"lines": [line]}).status_code == 401
    headers = api.headers(Role.collector)
    bodies: list[dict[str, list[str]]] = [
        {"lines": []},
        {"lines": [line] * 2001},
        {"lines": ["x" * 2049]},
    ]
    for body in bodies:
        assert api.client.post("/queue-log/cc1", json=body, headers=headers).status_code == 422
    assert (
        api.client.post(
            "/queue-log/bad%20node", json={"lines": [line]}, headers=headers
        ).status_code
        == 422
    )
