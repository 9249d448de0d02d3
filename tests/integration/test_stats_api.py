"""/stats: KPIs from rollups equal KPIs from raw calls; Asia/Jakarta days; agents; live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.core.auth import Role
from tests.conftest import ApiHarness
from tests.integration.event_factory import T0, FakeCall, ami, member


def post(api: ApiHarness, calls: list[FakeCall], extra: list[dict[str, Any]] | None = None) -> None:
    events = [e for c in calls for e in c.events] + (extra or [])
    response = api.client.post(
        "/events", json={"events": events}, headers=api.headers(Role.collector)
    )
    assert response.status_code == 200, response.text


def get(api: ApiHarness, path: str, **params: Any) -> Any:
    response = api.client.get(path, params=params, headers=api.headers(Role.supervisor))
    assert response.status_code == 200, response.text
    return response.json()


def expected(calls: list[FakeCall], short: int = 5, sl: int = 20) -> dict[str, Any]:
    """The figures straight from the definitions (docs/asterisk.md), no SQL involved."""
    queued = [c for c in calls if c.outcome != "ivr_only"]
    answered = [c for c in queued if c.outcome == "answered"]
    abandons = [c for c in queued if c.outcome == "abandoned"]
    long_ab = [c for c in abandons if c.wait >= short]
    short_ab = [c for c in abandons if c.wait < short]
    in_sl = [c for c in answered if c.wait <= sl]
    ab_in_sl = [c for c in long_ab if c.wait <= sl]

    def pct(n: int, d: int) -> float | None:
        return round(100 * n / d, 2) if d else None

    return {
        "offered": len(queued),
        "answered": len(answered),
        "abandoned": len(long_ab),
        "short_abandoned": len(short_ab),
        "sl_pct": pct(len(in_sl), len(answered)),
        "sl2_pct": pct(len(in_sl) + len(ab_in_sl), len(answered) + len(long_ab)),
        "asa_seconds": round(sum(c.wait for c in answered) / len(answered), 2)
        if answered
        else None,
        "aht_seconds": round(sum(c.talk for c in answered) / len(answered), 2)
        if answered
        else None,
        "max_wait": max((c.wait for c in queued), default=0),
        "abandon_rate_pct": pct(len(long_ab), len(queued) - len(short_ab)),
        "urgent": sum(1 for c in queued if c.urgent),
    }


def pick(summary: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    return {k: summary[k] for k in keys}


def mixed_day() -> list[FakeCall]:
    """Calls spread over several hours of one Jakarta day (28 Nov, 08:00-15:00 WIB)."""
    outcomes = [
        "answered",
        "abandoned",
        "answered",
        "ivr_only",
        "abandoned",
        "answered",
        "callback",
        "exit_timeout",
        "answered",
    ]
    calls = []
    for i in range(45):
        at = T0 - timedelta(hours=2) + timedelta(minutes=11 * i, seconds=7 * i)
        calls.append(
            FakeCall(
                f"08{i:02d}",
                at,
                outcomes[i % len(outcomes)],
                wait=(i * 7) % 45,
                talk=20 + i,
                agent=f"petugas-100{1 + i % 2}",
                category=["infrastruktur", "lainnya", None][i % 3],
                urgent=i % 4 == 1,
            )
        )
    return calls


def test_supervisor_role_is_required(api: ApiHarness) -> None:
    for path in ("/stats/summary", "/stats/timeseries", "/stats/agents", "/stats/live"):
        assert api.client.get(path, headers=api.headers(Role.agent)).status_code == 403
        assert api.client.get(path).status_code == 401


def test_summary_equals_the_definitions_on_whole_and_partial_hours(api: ApiHarness) -> None:
    calls = mixed_day()
    post(api, calls)
    whole = get(api, "/stats/summary", **{"from": "2026-11-28", "to": "2026-11-28"})
    want = expected(calls)
    assert pick(whole, want) == want
    assert 0 < want["urgent"] < want["offered"]
    # A window that starts and ends mid-hour: rollups for whole hours, raw calls at the edges.
    lo, hi = T0 - timedelta(minutes=37), T0 + timedelta(hours=2, minutes=13)
    inside = [
        c for c in calls if c.outcome == "ivr_only" or lo <= c.at + timedelta(seconds=c.ivr) < hi
    ]
    part = get(api, "/stats/summary", **{"from": lo.isoformat(), "to": hi.isoformat()})
    want = expected(inside)
    assert pick(part, want) == want
    assert want["offered"] < expected(calls)["offered"]


def test_thresholds_are_query_parameters(api: ApiHarness) -> None:
    calls = mixed_day()
    post(api, calls)
    got = get(
        api, "/stats/summary", **{"from": "2026-11-28", "short_abandon": 10, "service_level": 15}
    )
    want = expected(calls, short=10, sl=15)
    assert pick(got, want) == want
    assert (got["short_abandon_seconds"], got["service_level_seconds"]) == (10, 15)


def test_category_and_queue_filters(api: ApiHarness) -> None:
    calls = mixed_day()
    post(api, calls)
    got = get(api, "/stats/summary", **{"from": "2026-11-28", "category": "infrastruktur"})
    want = expected([c for c in calls if c.category == "infrastruktur"])
    assert pick(got, want) == want
    none = get(api, "/stats/summary", **{"from": "2026-11-28", "queue": "other"})
    assert none["offered"] == 0
    assert none["sl_pct"] is None


def test_days_are_asia_jakarta(api: ApiHarness) -> None:
    # 16:59:58 UTC is 23:59:58 WIB on the 28th; 17:00 UTC is already the 29th in Jakarta.
    late = FakeCall("01", datetime(2026, 11, 28, 16, 59, 54, tzinfo=UTC), "answered", wait=2)
    early = FakeCall("02", datetime(2026, 11, 28, 16, 59, 56, tzinfo=UTC), "answered", wait=2)
    post(api, [late, early])
    assert get(api, "/stats/summary", **{"from": "2026-11-28", "to": "2026-11-28"})["offered"] == 1
    assert get(api, "/stats/summary", **{"from": "2026-11-29", "to": "2026-11-29"})["offered"] == 1
    days = get(
        api, "/stats/timeseries", **{"from": "2026-11-28", "to": "2026-11-29", "interval": "day"}
    )
    assert [(d["start"], d["offered"]) for d in days] == [
        ("2026-11-28T00:00:00+07:00", 1),
        ("2026-11-29T00:00:00+07:00", 1),
    ]


def test_timeseries_hours_add_up_to_the_summary(api: ApiHarness) -> None:
    calls = mixed_day()
    post(api, calls)
    hours = get(api, "/stats/timeseries", **{"from": "2026-11-28", "interval": "hour"})
    assert len(hours) > 5
    assert sum(h["offered"] for h in hours) == expected(calls)["offered"]
    assert max(h["max_wait"] for h in hours) == expected(calls)["max_wait"]
    assert sum(h["answered"] for h in hours) == expected(calls)["answered"]
    assert sum(h["urgent"] for h in hours) == expected(calls)["urgent"]


def test_agents_calls_talk_login_pause_and_occupancy(api: ApiHarness) -> None:
    calls = [
        FakeCall("01", T0 + timedelta(minutes=10), "answered", wait=3, talk=100),
        FakeCall("02", T0 + timedelta(minutes=20), "answered", wait=3, talk=200),
        FakeCall(
            "03", T0 + timedelta(minutes=30), "answered", wait=3, talk=60, agent="petugas-1002"
        ),
    ]
    sessions = [
        member("QueueMemberAdded", T0, Paused="0"),
        member("QueueMemberPause", T0 + timedelta(minutes=40), Paused="1", PausedReason="makan"),
        member("QueueMemberPause", T0 + timedelta(minutes=50), Paused="0"),
        member("QueueMemberRemoved", T0 + timedelta(hours=1)),
        member("QueueMemberAdded", T0 - timedelta(hours=1), agent="petugas-1002", Paused="0"),
    ]
    post(api, calls, sessions)
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    got = {a["agent"]: a for a in get(api, "/stats/agents", **window)}
    assert got["petugas-1001"] == {
        "agent": "petugas-1001",
        "calls": 2,
        "talk_seconds": 300,
        "aht_seconds": 150.0,
        "login_seconds": 3600,
        "pause_seconds": 600,
        "occupancy_pct": round(100 * 300 / 3000, 2),
    }
    # Logged in before the window: counted from the window's start to its end.
    assert got["petugas-1002"]["login_seconds"] == 7200
    assert got["petugas-1002"]["calls"] == 1


def test_aht_counts_only_calls_whose_talk_has_ended(api: ApiHarness) -> None:
    done = [
        FakeCall("01", T0 + timedelta(minutes=10), "answered", wait=3, talk=100),
        FakeCall("02", T0 + timedelta(minutes=20), "answered", wait=3, talk=200),
    ]
    talking = FakeCall("03", T0 + timedelta(minutes=30), "answered", wait=5, talk=60)
    talking.events = [e for e in talking.events if e["name"] not in ("AgentComplete", "Hangup")]
    post(api, [*done, talking])
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    for params in (window, {"from": "2026-11-28", "to": "2026-11-28"}):  # raw calls, rollups
        got = get(api, "/stats/summary", **params)
        assert (got["answered"], got["completed"], got["aht_seconds"]) == (3, 2, 150.0)
    (agent,) = get(api, "/stats/agents", **window)
    assert (agent["calls"], agent["aht_seconds"]) == (3, 150.0)


def test_live_shows_waiting_callers_and_agent_states(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    waiting = FakeCall("0899", now - timedelta(seconds=30), "answered", wait=3)
    waiting.events = [
        e for e in waiting.events if e["name"] in {"Newchannel", "QueueCallerJoin", "UserEvent"}
    ]
    talking = FakeCall(
        "0898", now - timedelta(seconds=60), "answered", wait=3, agent="petugas-1002"
    )
    talking.events = [e for e in talking.events if e["name"] not in {"AgentComplete", "Hangup"}]
    sessions = [
        member("QueueMemberAdded", now - timedelta(hours=1), Paused="0"),
        member("QueueMemberPause", now - timedelta(minutes=1), Paused="1", PausedReason="sholat"),
        member("QueueMemberAdded", now - timedelta(hours=1), agent="petugas-1002", Paused="0"),
        member("QueueMemberAdded", now - timedelta(hours=1), agent="petugas-1003", Paused="0"),
        member("QueueMemberRemoved", now - timedelta(minutes=2), agent="petugas-1003"),
        member("QueueMemberAdded", now - timedelta(hours=1), agent="petugas-1004", Paused="0"),
        # Rings 1004 for the waiting caller; an older ring that was answered arrives later.
        ami(
            "AgentCalled",
            now - timedelta(seconds=2),
            MemberName="petugas-1004",
            Linkedid=waiting.uniqueid,
            Uniqueid=waiting.uniqueid,
        ),
        ami(
            "AgentConnect",
            now - timedelta(seconds=40),
            MemberName="petugas-1004",
            Linkedid="older",
            Uniqueid="older",
            HoldTime="1",
        ),
        ami("Hangup", now - timedelta(seconds=30), Linkedid="older", Uniqueid="older"),
    ]
    post(api, [waiting, talking], sessions)
    # A late, older ring-no-answer must not end the newer ring.
    late = ami(
        "AgentRingNoAnswer",
        now - timedelta(seconds=20),
        MemberName="petugas-1004",
        Linkedid="older",
        Uniqueid="older",
        RingTime="15000",
    )
    post(api, [], [late])
    live = get(api, "/stats/live")
    assert [(c["caller"], c["position"]) for c in live["waiting"]] == [("0899", 1)]
    assert live["waiting"][0]["wait_seconds"] >= 26
    assert {a["agent"]: (a["state"], a["reason"]) for a in live["agents"]} == {
        "petugas-1001": ("paused", "sholat"),
        "petugas-1002": ("on_call", None),
        "petugas-1003": ("logged_out", None),
        "petugas-1004": ("ringing", None),
    }
    assert "sl_pct" in live["today"]


def test_live_lists_urgent_callers_first_and_marks_them(api: ApiHarness) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    callers = [
        FakeCall("0891", now - timedelta(seconds=50), "answered"),
        FakeCall("0892", now - timedelta(seconds=40), "answered"),
        FakeCall("0893", now - timedelta(seconds=10), "answered", urgent=True),
    ]
    for call in callers:
        call.events = [
            e for e in call.events if e["name"] in {"Newchannel", "QueueCallerJoin", "UserEvent"}
        ]
    post(api, callers)
    live = get(api, "/stats/live")
    assert [(c["caller"], c["position"], c["urgent"]) for c in live["waiting"]] == [
        ("0893", 1, True),
        ("0891", 2, False),
        ("0892", 3, False),
    ]
    assert live["today"]["urgent"] == 1


@pytest.mark.parametrize("bad", [{"from": "yesterday"}, {"from": "2026-11-28", "to": "2026-11-27"}])
def test_bad_windows_are_422(api: ApiHarness, bad: dict[str, str]) -> None:
    response = api.client.get("/stats/summary", params=bad, headers=api.headers(Role.supervisor))
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/stats/summary", "/stats/timeseries", "/stats/agents"])
@pytest.mark.parametrize(
    "window",
    [
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"to": "9999-12-31"},
        {"from": "9999-12-31T23:00:00-14:00", "to": "9999-12-31T23:30:00-14:00"},
        {"from": "1969-12-31", "to": "1970-01-02"},
    ],
)
def test_windows_past_the_years_datetime_holds_are_422(
    api: ApiHarness, path: str, window: dict[str, str]
) -> None:
    response = api.client.get(path, params=window, headers=api.headers(Role.supervisor))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert "out of range" in response.json()["message"]
