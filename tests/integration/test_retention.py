"""Retention: the purge takes exactly what is past the limit, keeps the KPIs of purged
days, runs once across replicas; a citizen's data is exported and erased on request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.callbacks.service import CallbackRequest
from api.complaints.models import Complaint
from api.core.auth import Role
from api.core.clock import JAKARTA
from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.run_once import JobRun
from api.core.settings import ApiSettings
from api.events.models import AmiEvent, Call, CallHourly, CallRecording
from api.main import create_app
from api.refused.service import RefusedComplaint
from api.retention import files, purge, schedule
from api.retention.models import CitizenRequest, RetentionFile, RetentionRun
from api.sms.service import SmsIntake
from tests.conftest import ApiHarness
from tests.integration.event_factory import T0, FakeCall
from tests.integration.test_stats_api import get, post

NOW = T0
OLD = T0 - timedelta(days=400)  # past the 365-day limit at NOW
RECENT = T0 - timedelta(days=10)
CITIZEN = "081299990000"
OUTCOMES = ("answered", "abandoned", "answered", "ivr_only", "callback", "exit_timeout")


@dataclass
class World:
    api: ApiHarness
    settings: ApiSettings
    folder: Path


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    folder = tmp_path / "recordings"
    folder.mkdir()
    settings = ApiSettings(database_url=database_url, recordings_dir=folder)
    app = create_app(settings)
    upgrade(app.state.engine)
    with TestClient(app) as client:
        yield World(ApiHarness(client, app.state.engine), settings, folder)


def day_calls(start: datetime, caller: str, tag: int) -> list[FakeCall]:
    return [
        FakeCall(
            caller=caller if i % 2 else f"08121{tag}00{i:04d}",
            at=start + timedelta(minutes=13 * i),
            outcome=OUTCOMES[i % len(OUTCOMES)],
            wait=(3, 8, 25, 40)[i % 4],
            talk=30 + i,
            agent=f"petugas-100{i % 2 + 1}",
        )
        for i in range(12)
    ]


def complaint(ticket: str, at: datetime, caller: str, recording: str) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "category": "infrastruktur",
        "caller_number": caller,
        "line": "082282204761",
        "recording_path": f"/var/spool/asterisk/recordings/{recording}",
        "uniqueid": f"u{ticket}",
        "taken_at": at.isoformat(),
    }


LEGS = ("", "-citizen", "-officer")


def conversation_files(call: FakeCall) -> list[str]:
    return [f"call-{call.uniqueid}{leg}.wav" for leg in LEGS]


def seed(world: World) -> list[FakeCall]:
    """Calls, complaints, callbacks, SMS and refused complaints of the citizen and others,
    old and recent; returns the citizen's two recorded conversations (old, recent)."""
    api = world.api
    old, recent = day_calls(OLD, CITIZEN, 1), day_calls(RECENT, "62" + CITIZEN[1:], 2)
    post(api, old + recent)
    # The holder finds a conversation's citizen through its call's caller, whatever the
    # call's outcome.
    conversations = [calls[1] for calls in (old, recent)]
    with Session(api.engine) as session:
        for call in conversations:
            session.add(
                CallRecording(
                    node=call.node,
                    linkedid=call.uniqueid,
                    file=conversation_files(call)[0],
                    agent=call.agent,
                    recorded_at=call.at,
                )
            )
            for name in conversation_files(call):
                (world.folder / name).write_bytes(b"RIFF")
        session.commit()
    for ticket, at, caller in (
        ("1001", OLD, CITIZEN),
        ("1002", RECENT, "+62" + CITIZEN[1:]),
        ("1003", RECENT, "081277770000"),
    ):
        (world.folder / f"{ticket}.wav").write_bytes(b"RIFF")
        body = complaint(ticket, at, caller, f"{ticket}.wav")
        response = api.client.post("/complaints", json=body, headers=api.headers(Role.ivr))
        assert response.status_code == 201, response.text
    with Session(api.engine) as session:
        for n, at in enumerate((OLD, RECENT)):
            session.add(
                CallbackRequest(
                    request_id=f"request-{n}",
                    number=CITIZEN,
                    uniqueid=f"cb{n}",
                    queue_entered_at=at,
                    requested_at=at,
                )
            )
            session.add(
                SmsIntake(
                    sender=CITIZEN, text_hash=f"h{n}", bucket=n, ticket=f"9{n}", received_at=at
                )
            )
            session.add(
                RefusedComplaint(
                    ticket=f"200{n}",
                    uniqueid=f"r{n}",
                    caller_number=CITIZEN,
                    recording_path=f"200{n}.wav",
                    payload={"caller_number": CITIZEN, "ticket": f"200{n}"},
                    received_at=at,
                )
            )
            (world.folder / f"200{n}.wav").write_bytes(b"RIFF")
        session.commit()
    return conversations


def kpis(api: ApiHarness, day: date) -> dict[str, Any]:
    window = {"from": day.isoformat(), "to": day.isoformat()}
    with Session(api.engine) as session:
        hourly = [row.model_dump() for row in session.exec(select(CallHourly)).all()]
    return {
        "summary": get(api, "/stats/summary", **window),
        "agents": get(api, "/stats/agents", **window),
        "timeseries": get(api, "/stats/timeseries", **window),
        "hourly": sorted(hourly, key=lambda row: (row["hour"], row["queue"], row["category"])),
    }


def jakarta_day(at: datetime) -> date:
    return at.astimezone(JAKARTA).date()


def run(world: World) -> RetentionRun:
    return purge.run(world.api.engine, world.settings, trigger="cli", runner="test", now=NOW)


def test_the_purge_takes_what_is_past_the_limit_and_nothing_else(world: World) -> None:
    _, kept = seed(world)
    api = world.api
    before = {day: kpis(api, jakarta_day(day)) for day in (OLD, RECENT)}
    assert before[OLD]["summary"]["offered"] > 0

    assert purge.pending(api.engine, world.settings, NOW)["call"] == 12
    done = run(world)
    assert done.error is None
    assert done.finished_at is not None
    assert done.counts["call"] == 12
    assert done.counts["files"] == 5  # 1001.wav, 2000.wav and the old conversation's three
    assert done.counts["call_recording"] == 1

    with Session(api.engine) as session:
        by_age: dict[bool, list[Call]] = {True: [], False: []}
        for call in session.exec(select(Call)).all():
            by_age[_age(call) < RECENT - timedelta(days=1)].append(call)
        assert len(by_age[True]) == 12
        assert len(by_age[False]) == 12
        assert all(c.caller is None and c.caller_name is None for c in by_age[True])
        assert all(c.caller and c.caller_name for c in by_age[False])
        assert all("|ENTERQUEUE||" in (c.queue_log or "|ENTERQUEUE||") for c in by_age[True])
        for event in session.exec(select(AmiEvent)).all():
            holds = "CallerIDNum" in event.fields
            assert holds == (_utc(event.at) >= RECENT - timedelta(days=1)), event.fields
        complaints = {c.ticket: c for c in session.exec(select(Complaint)).all()}
        assert complaints["1001"].caller_number == ""
        assert complaints["1001"].recording_path is None
        assert complaints["1001"].category == "infrastruktur"
        assert complaints["1002"].caller_number == CITIZEN  # sent as +62…, stored as 0812…
        assert complaints["1002"].recording_path
        assert [r.request_id for r in session.exec(select(CallbackRequest))] == ["request-1"]
        assert [r.ticket for r in session.exec(select(SmsIntake))] == ["91"]
        refused = {r.ticket: r for r in session.exec(select(RefusedComplaint)).all()}
        assert refused["2000"].caller_number is None
        assert refused["2000"].recording_path is None
        assert refused["2000"].payload == {"ticket": "2000"}
        assert refused["2001"].caller_number == CITIZEN
    remaining = ["1002.wav", "1003.wav", "2001.wav", *conversation_files(kept)]
    assert sorted(p.name for p in world.folder.iterdir()) == sorted(remaining)
    with Session(api.engine) as session:
        recorded = [r.linkedid for r in session.exec(select(CallRecording)).all()]
    assert recorded == [kept.uniqueid]

    after = {day: kpis(api, jakarta_day(day)) for day in (OLD, RECENT)}
    assert after == before

    again = run(world)
    assert all(count == 0 for count in again.counts.values()), again.counts
    assert kpis(api, jakarta_day(OLD)) == before[OLD]

    response = api.client.get("/retention/runs", headers=api.headers(Role.admin))
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [again.id, done.id]
    assert response.json()[1]["counts"]["call"] == 12
    assert (
        api.client.get("/retention/runs", headers=api.headers(Role.supervisor)).status_code == 403
    )


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=T0.tzinfo)


def _age(call: Call) -> datetime:
    at = call.arrived_at or call.queue_entered_at or call.ended_at
    assert at is not None
    return _utc(at)


def test_a_run_that_dies_before_deleting_files_leaves_them_queued(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(world)
    real = files.drain

    def crash(session: Session, folder: Path) -> int:
        if session.exec(select(RetentionFile)).first() is not None:
            raise RuntimeError("power cut")
        return real(session, folder)

    monkeypatch.setattr(files, "drain", crash)
    with pytest.raises(RuntimeError):
        run(world)
    with Session(world.api.engine) as session:
        queued = sorted(r.name for r in session.exec(select(RetentionFile)))
        old = session.exec(select(Complaint).where(Complaint.ticket == "1001")).one()
    # The row no longer points at the file; the file waits in the queue.
    assert old.recording_path is None
    assert queued == ["1001.wav"]
    assert (world.folder / "1001.wav").exists()

    monkeypatch.setattr(files, "drain", real)
    finished = run(world)
    assert finished.counts["files"] == 5  # 1001.wav, 2000.wav, the old conversation's three
    assert not (world.folder / "1001.wav").exists()
    assert not (world.folder / "2000.wav").exists()
    assert (world.folder / "1002.wav").exists()


def test_export_finds_one_citizen_under_every_spelling(world: World) -> None:
    seed(world)
    api = world.api
    admin = api.headers(Role.admin, name="admin-ayu")
    for spelling in (CITIZEN, "62" + CITIZEN[1:], "%2B62" + CITIZEN[1:]):
        response = api.client.get(f"/citizens/{spelling}/export", headers=admin)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data["call"]) == 12  # 6 old, 6 recent (from 62812…, stored as 0812…)
        assert {c["caller"] for c in data["call"]} == {CITIZEN}
        assert all("queue_log" not in c for c in data["call"])
        assert sorted(c["ticket"] for c in data["complaint"]) == ["1001", "1002"]
        assert len(data["callback_request"]) == 2
        assert len(data["sms_intake"]) == 2
        assert len(data["refused_complaint"]) == 2
    with Session(api.engine) as session:
        audit = session.exec(select(CitizenRequest)).all()
    assert [(a.actor, a.action, a.number) for a in audit] == [
        ("admin-ayu", "export", "0812******00")
    ] * 3
    assert audit[0].counts["call"] == 12


def test_erase_then_export_finds_nothing_personal(world: World) -> None:
    seed(world)
    api = world.api
    admin = api.headers(Role.admin, name="admin-budi")
    before = {day: kpis(api, jakarta_day(day)) for day in (OLD, RECENT)}

    response = api.client.post(f"/citizens/62{CITIZEN[1:]}/erase", headers=admin)
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["call"] == 12
    assert counts["complaint"] == 2
    assert counts["call_recording"] == 2
    assert counts["files"] == 10  # two complaints', two refused, two conversations' (3 each)

    exported = api.client.get(f"/citizens/{CITIZEN}/export", headers=admin).json()
    assert exported["data"] == {}
    # The complaints stay, without the citizen; another citizen's are untouched.
    with Session(api.engine) as session:
        complaints = {c.ticket: c for c in session.exec(select(Complaint)).all()}
        events = session.exec(select(AmiEvent)).all()
    assert complaints["1002"].caller_number == ""
    assert complaints["1002"].recording_path is None
    assert complaints["1003"].caller_number == "081277770000"
    assert not [e for e in events if str(e.fields.get("CallerIDNum", "")).endswith(CITIZEN[1:])]
    assert sorted(p.name for p in world.folder.iterdir()) == ["1003.wav"]
    assert {day: kpis(api, jakarta_day(day)) for day in (OLD, RECENT)} == before

    audit = api.client.get("/citizens/requests", headers=admin).json()
    assert [(a["action"], a["actor"], a["number"]) for a in audit] == [
        ("export", "admin-budi", "0812******00"),
        ("erase", "admin-budi", "0812******00"),
    ]


@pytest.mark.parametrize("number", ["12", "0812abc", "1" * 21, "++62812"])
def test_a_bad_number_is_refused(world: World, number: str) -> None:
    response = world.api.client.get(
        f"/citizens/{number}/export", headers=world.api.headers(Role.admin)
    )
    assert response.status_code == 422


def test_only_admins_see_citizens(world: World) -> None:
    for role in (Role.supervisor, Role.agent, Role.leadership):
        headers = world.api.headers(role)
        assert (
            world.api.client.get(f"/citizens/{CITIZEN}/export", headers=headers).status_code == 403
        )
        assert (
            world.api.client.post(f"/citizens/{CITIZEN}/erase", headers=headers).status_code == 403
        )


def test_the_daily_purge_runs_once_across_replicas(postgres_url: str, tmp_path: Path) -> None:
    settings = ApiSettings(database_url=postgres_url, recordings_dir=tmp_path)
    engines = [make_engine(postgres_url) for _ in range(2)]
    upgrade(engines[0])
    start = threading.Barrier(2)
    results: list[bool] = []

    def replica(n: int) -> None:
        start.wait()
        results.append(schedule.attempt(engines[n], settings, f"replica-{n}", "2026-11-30"))

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engines[0]) as session:
        runs = session.exec(select(RetentionRun)).all()
        claims = session.exec(select(JobRun).where(JobRun.job == "retention")).all()
    assert len(runs) == 1
    assert len(claims) == 1
    assert claims[0].finished_at is not None
    assert runs[0].runner == claims[0].runner
    assert True in results
    # The next check of the same day, on either replica, runs nothing more.
    assert schedule.attempt(engines[1], settings, "replica-1", "2026-11-30")
    with Session(engines[0]) as session:
        assert len(session.exec(select(RetentionRun)).all()) == 1
    for engine in engines:
        engine.dispose()


def test_a_recording_that_cannot_be_deleted_stays_queued(world: World) -> None:
    stuck = world.folder / "stuck.wav"
    stuck.mkdir()  # unlink() fails on it, as on a read-only mount
    (world.folder / "gone.wav").write_bytes(b"RIFF")
    with Session(world.api.engine) as session:
        files.queue(session, ["stuck.wav", "gone.wav", "never-there.wav"])
        session.commit()
        assert files.drain(session, world.folder) == 1
        assert [r.name for r in session.exec(select(RetentionFile))] == ["stuck.wav"]
        stuck.rmdir()
        stuck.write_bytes(b"RIFF")
        assert files.drain(session, world.folder) == 1
        assert session.exec(select(RetentionFile)).first() is None
    assert list(world.folder.iterdir()) == []
