"""queue_log import and reconcile: idempotent, equal to the AMI path, merged without doubling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from api.cli import main as lapor
from api.core.auth import Role
from api.events.hourly import Thresholds
from api.events.models import AgentEvent, Call
from api.queue_log import import_file, split_line
from tests.conftest import ApiHarness
from tests.integration.event_factory import T0, FakeCall
from tests.integration.test_stats_api import expected, mixed_day, pick

SUMMARY = {"from": "2026-11-28", "to": "2026-11-28"}


def write_log(path: Path, calls: list[FakeCall], extra: list[str] | None = None) -> Path:
    lines = sorted(
        (line for c in calls for line in c.queue_log), key=lambda s: int(s.split("|")[0])
    )
    path.write_text("\n".join([*lines, *(extra or [])]) + "\n")
    return path


def summary(api: ApiHarness, **params: Any) -> Any:
    response = api.client.get(
        "/stats/summary", params={**SUMMARY, **params}, headers=api.headers(Role.supervisor)
    )
    assert response.status_code == 200
    return response.json()


def from_queue_log(calls: list[FakeCall], seen: list[FakeCall], short: int = 5) -> dict[str, Any]:
    """The figures of these calls when only ``seen`` reached the API as AMI events:
    queue_log does not know a caller's queue priority, so only those can count as urgent."""
    return {**expected(calls, short=short), "urgent": expected(seen)["urgent"]}


def test_split_line() -> None:
    parts = split_line("1795890124|1795890124.0|pengaduan|Agent One|CONNECT|0|1795890124.2|0\r\n")
    assert parts is not None
    assert parts[3:] == ["Agent One", "CONNECT", "0", "1795890124.2", "0"]
    too_long = f"1795890124|{'9' * 65}|pengaduan|NONE|ENTERQUEUE||0812|1"
    for bad in (
        "",
        "garbage",
        "x|y|z|w|CONNECT",
        "1795890124|a|b|c|",
        "\uff11\uff12|a|b|c|V",
        too_long,
    ):
        assert split_line(bad) is None


def test_import_gives_the_same_figures_as_ami_and_twice_changes_nothing(
    api: ApiHarness, tmp_path: Path
) -> None:
    calls = mixed_day()
    log = write_log(tmp_path / "queue_log", calls, ["not a queue_log line", "1795890124|x"])
    engine = api.engine
    first = import_file(engine, log, node="cc1", thresholds=Thresholds())
    assert first.malformed == 2
    assert first.accepted == sum(len(c.queue_log) for c in calls)
    want = from_queue_log(calls, seen=[])
    got = summary(api)
    assert pick(got, want) == want
    again = import_file(engine, log, node="cc1", thresholds=Thresholds())
    assert (again.accepted, again.duplicates) == (0, first.accepted)
    assert summary(api) == got


def test_summary_counts_every_kind_of_line_and_progress_ends_at_the_file_size(
    api: ApiHarness, tmp_path: Path
) -> None:
    calls = mixed_day()
    t = int(T0.timestamp())
    extra = [
        "garbage",
        f"{t}|NONE|pengaduan|petugas-1001|PAUSE|rapat",
        f"{t}|NONE|NONE|NONE|QUEUESTART|",
    ]
    log = write_log(tmp_path / "queue_log", calls, extra)
    seen: list[int] = []
    first = import_file(api.engine, log, node="cc1", thresholds=Thresholds(), progress=seen.append)
    lines = sum(len(c.queue_log) for c in calls)
    assert (first.lines, first.malformed, first.accepted, first.no_call) == (
        lines + 3,
        1,
        lines + 1,
        1,
    )
    assert seen[-1] == log.stat().st_size
    want = from_queue_log(calls, seen=[])
    assert pick(summary(api), want) == want
    again = import_file(api.engine, log, node="cc1", thresholds=Thresholds())
    assert (again.accepted, again.duplicates) == (0, lines + 1)
    assert pick(summary(api), want) == want


def test_reconcile_fills_an_outage_without_doubling(api: ApiHarness, tmp_path: Path) -> None:
    calls = mixed_day()
    # The collector saw the first 20 calls; the rest happened while it was down.
    seen = [e for c in calls[:20] for e in c.events]
    response = api.client.post(
        "/events", json={"events": seen}, headers=api.headers(Role.collector)
    )
    assert response.status_code == 200
    assert summary(api)["offered"] < expected(calls)["offered"]
    import_file(
        api.engine, write_log(tmp_path / "queue_log", calls), node="cc1", thresholds=Thresholds()
    )
    want = from_queue_log(calls, seen=calls[:20])
    assert pick(summary(api), want) == want
    want = from_queue_log(calls, seen=calls[:20], short=7)
    assert pick(summary(api, short_abandon=7), want) == want


def test_agent_sessions_from_queue_log(api: ApiHarness, tmp_path: Path) -> None:
    t = int(T0.timestamp())
    log = tmp_path / "queue_log"
    log.write_text(
        f"{t}|NONE|pengaduan|petugas-1001|ADDMEMBER|\n"
        f"{t + 600}|NONE|pengaduan|petugas-1001|PAUSE|lunch\n"
        f"{t + 900}|NONE|pengaduan|petugas-1001|UNPAUSE|\n"
        f"{t + 3600}|NONE|pengaduan|petugas-1001|REMOVEMEMBER|\n"
    )
    import_file(api.engine, log, node="cc1", thresholds=Thresholds())
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    response = api.client.get("/stats/agents", params=window, headers=api.headers(Role.supervisor))
    (agent,) = response.json()
    assert (agent["login_seconds"], agent["pause_seconds"]) == (3600, 300)


@pytest.mark.parametrize("command", ["import-queue-log", "reconcile"])
def test_cli_shows_progress_and_a_summary(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    calls = [FakeCall(f"0{i}", T0, "answered", wait=i) for i in range(5)]
    log = write_log(tmp_path / "queue_log", calls)
    monkeypatch.setenv("LAPOR_API_DATABASE_URL", database_url)
    args = [command, str(log), "--node", "cc1"] + (
        ["--hours", "1000000"] if command == "reconcile" else []
    )
    assert lapor(args) == 0
    out, err = capsys.readouterr()
    assert "100%" in err
    assert "15 lines: 15 new, 0 already stored" in out
    assert lapor(args) == 0
    assert "15 lines: 0 new, 15 already stored" in capsys.readouterr().out


def test_values_too_long_or_too_big_for_their_columns_are_imported(
    api: ApiHarness, tmp_path: Path
) -> None:
    t = int(T0.timestamp())
    caller, agent = "0" * 100, "petugas-" + "x" * 200
    log = tmp_path / "queue_log"
    log.write_text(
        f"{t}|1.1|pengaduan|NONE|ENTERQUEUE||{caller}|99999999999\n"
        f"{t + 5}|1.1|pengaduan|{agent[:128]}|CONNECT|1e12|1.2|1\n"
        f"{t + 65}|1.1|pengaduan|{agent[:128]}|COMPLETECALLER|5|inf|1\n"
        f"{t + 70}|NONE|pengaduan|petugas-1001|PAUSE|{'r' * 300}\n"
    )
    result = import_file(api.engine, log, node="cc1", thresholds=Thresholds())
    assert (result.accepted, result.malformed) == (4, 0)
    with Session(api.engine) as session:
        (call,) = session.exec(select(Call)).all()
        (pause,) = session.exec(select(AgentEvent)).all()
    assert (call.caller, call.agent, call.outcome) == (caller[:64], agent[:128], "answered")
    assert (call.position, call.hold_seconds, call.talk_seconds) == (None, None, None)
    assert pause.reason == "r" * 128


def test_a_nul_is_stored_as_a_replacement_character(api: ApiHarness, tmp_path: Path) -> None:
    t = int(T0.timestamp())
    log = tmp_path / "queue_log"
    log.write_bytes(
        f"{t}|1.1|pengaduan|NONE|ENTERQUEUE||08\x0012|1\n".encode()
        + b"\x00" * 40  # a crash left a run of NULs: not a line
        + f"\n{t + 9}|1.1|pengaduan|NONE|ABANDON|1|1|9\n".encode()
    )
    result = import_file(api.engine, log, node="cc1", thresholds=Thresholds())
    assert (result.accepted, result.malformed) == (2, 1)
    with Session(api.engine) as session:
        (call,) = session.exec(select(Call)).all()
    assert (call.caller, call.outcome) == ("08\ufffd12", "abandoned")
