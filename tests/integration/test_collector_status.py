"""The collectors' reports on themselves, and the wallboard's outage alerts from them.

The collector is the real one, posting to the real API under uvicorn: once with nothing
listening on its AMI port (Asterisk down: a real refused connection), once with an AMI
peer that it logs in to and that then drops it. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, func, select

from api.collectors import service
from api.core.auth import Role
from api.events.pushes import SUPERVISORS_TOPIC
from api.live.models import LiveEvent
from collector import Collector
from tests.conftest import ApiHarness
from tests.e2e.services import free_port
from tests.integration.ami_peer import FakeAmi, eventually
from tests.integration.test_collector import ApiServer, api_server, settings_for
from tests.integration.test_wallboard_pages import sign_in

__all__ = ["api_server"]
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def status_of(api: ApiServer, node: str) -> service.CollectorStatus | None:
    with Session(api.app.state.engine) as session:
        return session.get(service.CollectorStatus, node, populate_existing=True)


async def test_a_collector_that_cannot_reach_asterisk_says_so(
    api_server: ApiServer, tmp_path: Path
) -> None:
    nothing_there = FakeAmi()
    nothing_there.port = free_port()  # never started: the connection is refused
    collector = Collector(settings_for(nothing_there, api_server, tmp_path, status_interval=0.2))
    task = asyncio.create_task(collector.run())
    try:
        await eventually(lambda: status_of(api_server, "cc1") is not None)
        await eventually(lambda: collector.reporter is not None and collector.reporter.sent >= 3)
    finally:
        collector.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)
    status = status_of(api_server, "cc1")
    assert status is not None
    assert not status.ami_connected
    assert status.buffered == 0
    with Session(api_server.app.state.engine) as session:
        now = datetime.now(UTC)
        [outage] = service.outages(session, now, MINUTE)
    assert (outage.kind, outage.node) == ("asterisk_unreachable", "cc1")
    assert outage.since is not None
    assert outage.since <= now


async def test_the_report_follows_the_ami_session_up_and_down(
    api_server: ApiServer, tmp_path: Path
) -> None:
    ami = FakeAmi()
    await ami.start()
    # A long interval: only the immediate report at each change can make these pass.
    collector = Collector(settings_for(ami, api_server, tmp_path, status_interval=600))
    task = asyncio.create_task(collector.run())
    try:
        await ami.wait_logins(1)

        def connected() -> bool:
            status = status_of(api_server, "cc1")
            return status is not None and status.ami_connected

        await eventually(connected)
        await ami.close()
        await eventually(lambda: not connected())
    finally:
        collector.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(task, 10)


def report(api: ApiHarness, node: str, connected: bool, seconds: float = 0) -> int:
    body = {"ami_connected": connected, "ami_state_seconds": seconds, "buffered": 7}
    headers = api.headers(Role.collector)
    return api.client.put(f"/collectors/{node}", json=body, headers=headers).status_code


def test_outages_from_the_reports(api: ApiHarness) -> None:
    with Session(api.engine) as session:
        assert [o.kind for o in service.outages(session, NOW, MINUTE)] == ["no_collector"]
        up = service.Report(ami_connected=True, ami_state_seconds=30, buffered=0)
        down = service.Report(ami_connected=False, ami_state_seconds=90, buffered=12)
        assert service.record(session, "cc1", up, NOW, MINUTE)  # new
        assert service.record(session, "cc2", down, NOW, MINUTE)
        session.commit()
        assert not service.record(session, "cc1", up, NOW + MINUTE / 2, MINUTE)  # same state
        session.commit()
        found = service.outages(session, NOW + MINUTE / 2, MINUTE)
        assert [(o.kind, o.node, o.since) for o in found] == [
            ("asterisk_unreachable", "cc2", NOW - timedelta(seconds=90))
        ]
        # A later report of the same state keeps the outage's start where it was.
        later = service.Report(ami_connected=False, ami_state_seconds=100, buffered=12)
        assert not service.record(session, "cc2", later, NOW + MINUTE / 2, MINUTE)
        session.commit()
        [still] = service.outages(session, NOW + MINUTE / 2, MINUTE)
        assert still.since == NOW - timedelta(seconds=90)
        # Silence: cc1 last reported at NOW + 30 s.
        found = service.outages(session, NOW + 2 * MINUTE, MINUTE)
        assert [(o.kind, o.node, o.since) for o in found] == [
            ("collector_silent", "cc1", NOW + MINUTE / 2),
            ("collector_silent", "cc2", NOW + MINUTE / 2),
        ]
        # A silent collector that reports again is news for the board.
        assert service.record(session, "cc1", up, NOW + 3 * MINUTE, MINUTE)


def board_pushes(api: ApiHarness) -> int:
    with Session(api.engine) as session:
        topic = col(LiveEvent.topic) == SUPERVISORS_TOPIC
        return session.exec(select(func.count()).select_from(LiveEvent).where(topic)).one()


def test_collectors_report_and_supervisors_read(api: ApiHarness) -> None:
    assert report(api, "cc1", True) == 204
    assert report(api, "cc2", False, 42.5) == 204
    assert board_pushes(api) == 2  # two new collectors: the boards redraw
    assert report(api, "cc1", True) == 204
    assert board_pushes(api) == 2  # nothing new
    assert report(api, "cc1", False) == 204
    assert board_pushes(api) == 3
    assert report(api, "../etc", True) == 404  # not a node name: not even routed
    assert report(api, "bad node!", True) == 422
    too_long = {"ami_connected": True, "ami_state_seconds": 1e12, "buffered": 0}
    headers = api.headers(Role.collector)
    assert api.client.put("/collectors/cc1", json=too_long, headers=headers).status_code == 422
    listed = api.client.get("/collectors", headers=api.headers(Role.supervisor)).json()
    assert [(c["node"], c["ami_connected"], c["silent"]) for c in listed] == [
        ("cc1", False, False),
        ("cc2", False, False),
    ]
    assert listed[0]["buffered"] == 7
    admin = api.headers(Role.admin)
    assert api.client.delete("/collectors/cc2", headers=admin).status_code == 204
    assert api.client.delete("/collectors/cc2", headers=admin).status_code == 404
    assert [c["node"] for c in api.client.get("/collectors", headers=admin).json()] == ["cc1"]


def test_the_wallboard_shows_who_is_down_and_for_how_long(api: ApiHarness) -> None:
    sign_in(api, Role.supervisor)
    board = api.client.get("/wallboard/board").text
    assert 'data-alert="no_collector"' in board
    assert report(api, "cc1", True) == 204
    board = api.client.get("/wallboard/board").text
    assert 'data-alert="no_collector"' not in board
    assert 'data-alert="asterisk_unreachable"' not in board
    assert report(api, "cc1", False, 125) == 204
    board = api.client.get("/wallboard/board").text
    assert 'data-alert="asterisk_unreachable" data-node="cc1"' in board
    assert "Asterisk tidak terjangkau" in board
    assert '<time class="ticking" datetime="' in board.split('data-node="cc1"')[1]
