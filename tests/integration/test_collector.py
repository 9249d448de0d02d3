"""The collector against a fake AMI peer and the real API (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlmodel import Session, col, select

from api.core.auth import Role, create_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.events.models import AmiEvent, Call
from api.main import create_app
from api.stats import service
from collector import Collector, CollectorSettings, DiskBuffer, ReceivedEvent, SafeAMIProtocol
from tests.e2e.services import free_port, started
from tests.integration.ami_peer import FakeAmi, event, eventually, frame


class ApiServer:
    """The real API under uvicorn in a thread, so it can be stopped and started."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(ApiSettings(database_url=database_url))
        upgrade(self.app.state.engine)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def token(self) -> str:
        with Session(self.app.state.engine) as session:
            return create_token(session, name="collector-test", role=Role.collector)

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            threading.Event().wait(0.02)

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = None

    def close(self) -> None:
        self.stop()
        self.app.state.engine.dispose()

    def events(self) -> list[AmiEvent]:
        with Session(self.app.state.engine) as session:
            return list(session.exec(select(AmiEvent).order_by(col(AmiEvent.at))).all())

    def calls(self) -> list[Call]:
        with Session(self.app.state.engine) as session:
            return list(session.exec(select(Call)).all())


@dataclass
class Rig:
    ami: FakeAmi
    api: ApiServer
    collector: Collector

    async def wait_stored(self, count: int, timeout: float = 15) -> list[AmiEvent]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            stored = await asyncio.to_thread(self.api.events)
            if len(stored) >= count or asyncio.get_running_loop().time() > deadline:
                return stored
            await asyncio.sleep(0.05)


@pytest.fixture
def api_server(database_url: str) -> Iterator[ApiServer]:
    with started(ApiServer(database_url)) as server:
        yield server


def settings_for(ami: FakeAmi, api: ApiServer, buffer_dir: Path, **extra: Any) -> CollectorSettings:
    return CollectorSettings(
        node="cc1",
        ami_port=ami.port,
        ami_user="collector",
        ami_secret=ami.secret,
        api_url=api.url,
        api_token=api.token(),
        buffer_dir=buffer_dir,
        ping_interval=1.0,
        ping_timeout=3.0,
        backoff_min=0.05,
        backoff_max=0.5,
        linger=0.01,
        **extra,
    )


@contextlib.asynccontextmanager
async def running(ami: FakeAmi, settings: CollectorSettings) -> AsyncIterator[Collector]:
    """A collector running against ``ami``, logged in once; stopped afterwards."""
    collector = Collector(settings)
    task = asyncio.create_task(collector.run())
    await ami.wait_logins(1)
    try:
        yield collector
    finally:
        collector.stop()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def rig(api_server: ApiServer, tmp_path: Path) -> AsyncIterator[Rig]:
    ami = FakeAmi()
    await ami.start()
    try:
        async with running(ami, settings_for(ami, api_server, tmp_path / "buffer")) as collector:
            yield Rig(ami, api_server, collector)
    finally:
        await ami.close()


def call_events(uid: str, caller: str, name: str = "Warga") -> bytes:
    snap = {"Uniqueid": uid, "Linkedid": uid, "CallerIDNum": caller, "CallerIDName": name}
    return b"".join(
        [
            event("Newchannel", Exten="082282204761", **snap),
            event("QueueCallerJoin", Queue="pengaduan", Position="1", Count="1", **snap),
            event(
                "AgentConnect",
                Queue="pengaduan",
                MemberName="petugas-1001",
                HoldTime="3",
                RingTime="1",
                **snap,
            ),
            event(
                "AgentComplete",
                Queue="pengaduan",
                MemberName="petugas-1001",
                HoldTime="3",
                TalkTime="9",
                Reason="agent",
                **snap,
            ),
            event("Hangup", Cause="16", **snap),
        ]
    )


async def test_events_reach_the_api_tagged_with_the_node(rig: Rig) -> None:
    await rig.ami.send(call_events("1.1", "0811"))
    stored = await rig.wait_stored(5)
    assert [e.name for e in stored] == [
        "Newchannel",
        "QueueCallerJoin",
        "AgentConnect",
        "AgentComplete",
        "Hangup",
    ]
    assert {e.node for e in stored} == {"cc1"}
    (call,) = rig.api.calls()
    assert (call.caller, call.outcome, call.hold_seconds, call.talk_seconds) == (
        "0811",
        "answered",
        3,
        9,
    )


@pytest.mark.parametrize("name", ["José", "Siti Aisyah", "Dwi Ñoño 🙂"])
@pytest.mark.parametrize("chunk", [1, 3, 7])
async def test_utf8_split_across_reads_survives(rig: Rig, name: str, chunk: int) -> None:
    await rig.ami.send(
        event("Newchannel", Uniqueid="2.1", Linkedid="2.1", CallerIDNum="0812", CallerIDName=name),
        chunk=chunk,
    )
    (stored,) = await rig.wait_stored(1)
    assert stored.fields["CallerIDName"] == name


async def test_unknown_and_unwanted_events_are_not_forwarded(rig: Rig) -> None:
    await rig.ami.send(
        event("SomethingNew", Foo="bar")
        + event("UserEvent", UserEvent="NotOurs", Uniqueid="3.1", Linkedid="3.1")
        + event("VarSet", Variable="RTPAUDIOQOS", Value="x", Uniqueid="3.1", Linkedid="3.1")
        + event(
            "UserEvent",
            UserEvent="LaporTicket",
            Ticket="10000011",
            Category="lainnya",
            Line="082282204761",
            Uniqueid="3.1",
            Linkedid="3.1",
        )
        + event(
            "VarSet", Variable="LAPOR_CATEGORY", Value="lainnya", Uniqueid="3.1", Linkedid="3.1"
        )
    )
    stored = await rig.wait_stored(2)
    await asyncio.sleep(0.3)
    assert sorted(e.name for e in await asyncio.to_thread(rig.api.events)) == [
        "UserEvent",
        "VarSet",
    ]
    assert stored[0].fields.get("UserEvent", "LaporTicket") == "LaporTicket"


async def test_malformed_frames_do_not_kill_the_session(rig: Rig) -> None:
    garbage = (
        b"no colon here at all\r\n\r\n"  # neither Event nor Response
        + b"\xff\xfe\x00binary\r\n\r\n"  # not UTF-8
        + b"Event: \r\n\r\n"  # empty name
        + frame(Response="Success", ActionID="never-sent")  # a reply nobody waits for
        + b"Event: Hangup\r\nUniqueid\r\n: x\r\n\r\n"  # headers without values
    )
    await rig.ami.send(garbage + call_events("4.1", "0814"))
    stored = await rig.wait_stored(6)
    # The headerless Hangup is a (useless) event of its own; it belongs to no call.
    assert sorted(str(e.fields.get("Uniqueid")) for e in stored) == ["4.1"] * 5 + ["None"]
    (call,) = rig.api.calls()
    assert (call.linkedid, call.outcome) == ("4.1", "answered")
    assert rig.ami.logins == 1  # the same session carried on


async def test_a_raising_sink_does_not_kill_the_session(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = rig.collector.session.sink
    calls = {"n": 0}

    def flaky(received: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        original(received)

    monkeypatch.setattr(rig.collector.session, "sink", flaky)
    await rig.ami.send(
        event("Hangup", Uniqueid="5.1", Linkedid="5.1")
        + event("Hangup", Uniqueid="5.2", Linkedid="5.2")
    )
    stored = await rig.wait_stored(1)
    assert [e.linkedid for e in stored] == ["5.2"]
    assert rig.ami.logins == 1


async def test_a_repeated_header_is_stored_joined(rig: Rig) -> None:
    await rig.ami.send(
        b"Event: Hangup\r\nUniqueid: 5.3\r\nLinkedid: 5.3\r\n"
        b"ChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n"
    )
    (stored,) = await rig.wait_stored(1)
    assert stored.fields["ChanVariable"] == "A=1\nB=2"
    assert stored.fields["Uniqueid"] == "5.3"


async def test_event_ids_stay_unique_across_collector_starts(
    api_server: ApiServer, tmp_path: Path
) -> None:
    ami = FakeAmi()
    await ami.start()
    for start, uid in enumerate(["9.1", "9.2"], 1):
        collector = Collector(settings_for(ami, api_server, tmp_path / "buf"))
        task = asyncio.create_task(collector.run())
        await ami.wait_logins(start)
        await ami.send(event("Hangup", Uniqueid=uid, Linkedid=uid))
        await eventually(lambda: len(api_server.events()) >= start)  # noqa: B023
        collector.stop()
        await asyncio.wait_for(task, 10)
    await ami.close()
    ids = sorted(e.id for e in api_server.events())
    assert len(ids) == 2
    assert len(set(ids)) == 2
    assert all(i.startswith("cc1:") and i.endswith(".1") for i in ids)  # both a first event


async def test_reconnects_after_the_peer_drops(rig: Rig) -> None:
    await rig.ami.drop_all()
    await rig.ami.wait_logins(2)
    await rig.ami.send(event("Hangup", Uniqueid="6.1", Linkedid="6.1"))
    assert len(await rig.wait_stored(1)) == 1


async def test_half_open_link_is_detected_by_the_missing_pong(rig: Rig) -> None:
    rig.ami.answer_pings = False  # the socket stays open, the peer is silent
    await rig.ami.wait_logins(2, timeout=10)
    # The peer counts the second login before the collector has read the reply to it.
    await eventually(lambda: rig.collector.session.connections >= 2)
    assert rig.collector.session.connections >= 2


async def test_wrong_secret_backs_off_and_retries(api_server: ApiServer, tmp_path: Path) -> None:
    ami = FakeAmi(secret="right")
    await ami.start()
    settings = settings_for(ami, api_server, tmp_path / "b")
    settings.ami_secret = "wrong"
    collector = Collector(settings)
    task = asyncio.create_task(collector.run())
    await asyncio.sleep(1.0)
    assert ami.logins == 0
    assert collector.session.connections == 0
    collector.stop()
    await asyncio.wait_for(task, 10)
    await ami.close()


async def test_api_down_buffers_on_disk_then_delivers_once(rig: Rig, tmp_path: Path) -> None:
    await asyncio.to_thread(rig.api.stop)
    await rig.ami.send(call_events("7.1", "0817") + call_events("7.2", "0827"))
    await eventually(lambda: len(rig.collector.buffer) == 10)
    await asyncio.sleep(0.5)  # the sender keeps failing meanwhile; nothing leaves the buffer
    assert len(rig.collector.buffer) == 10
    await asyncio.to_thread(rig.api.start)
    stored = await rig.wait_stored(10)
    assert len(stored) == 10
    assert len({e.id for e in stored}) == 10
    assert sorted(c.caller or "" for c in rig.api.calls()) == ["0817", "0827"]


async def test_buffer_survives_a_crash_and_resends_idempotently(
    api_server: ApiServer, tmp_path: Path
) -> None:
    ami = FakeAmi()
    await ami.start()
    # A collector that died after posting but before deleting: its buffer still has them.
    first = Collector(settings_for(ami, api_server, tmp_path / "buf"))
    task = asyncio.create_task(first.run())
    await ami.wait_logins(1)
    await ami.send(call_events("8.1", "0818"))
    await eventually(lambda: len(api_server.events()) >= 5)
    first.stop()
    await asyncio.wait_for(task, 10)
    delivered = [e.id for e in api_server.events()]
    buffer = DiskBuffer(tmp_path / "buf" / "cc1.sqlite3")
    replay = [
        ReceivedEvent(e.id, e.node, e.received_at.replace(tzinfo=UTC), e.name, dict(e.fields))
        for e in api_server.events()
    ]
    buffer.append(replay)
    buffer.close()
    second = Collector(settings_for(ami, api_server, tmp_path / "buf"))
    task = asyncio.create_task(second.run())
    await eventually(lambda: len(second.buffer) == 0)
    second.stop()
    await asyncio.wait_for(task, 10)
    await ami.close()
    assert sorted(e.id for e in api_server.events()) == sorted(delivered)
    assert len(api_server.calls()) == 1


def test_protocol_keeps_partial_utf8_between_reads() -> None:
    class Sink:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def dispatch(self, message: Any) -> None:
            self.seen.append(message)

    proto = SafeAMIProtocol()
    proto.connection_made(type("T", (), {"write": lambda *_: None, "close": lambda *_: None})())
    proto.factory = Sink()
    data = (
        b"Asterisk Call Manager/9.0.0\r\n"
        + "Event: Newchannel\r\nCallerIDName: José\r\n\r\n".encode()
    )
    split = data.index("é".encode()) + 1
    proto.data_received(data[:split])
    proto.data_received(data[split:])
    assert proto.version == "9.0.0"
    (message,) = proto.factory.seen
    assert message["CallerIDName"] == "José"


QUEUE_STATUS = [
    {"Event": "QueueParams", "Queue": "pengaduan", "Max": "0", "Calls": "1"},
    {
        "Event": "QueueMember",
        "Queue": "pengaduan",
        "Name": "petugas-1001",
        "Location": "PJSIP/1001",
        "LoginTime": "1795988003",
        "InCall": "0",
        "Status": "1",
        "Paused": "1",
        "PausedReason": "istirahat siang",
    },
    {
        "Event": "QueueEntry",
        "Queue": "pengaduan",
        "Position": "1",
        "Channel": "PJSIP/trunk-00000001",
        "Uniqueid": "1795988100.4",
        "CallerIDNum": "081233334444",
        "Wait": "12",
    },
]


async def test_every_login_takes_a_queue_snapshot_for_the_live_view(
    api_server: ApiServer, tmp_path: Path
) -> None:
    ami = FakeAmi()
    ami.queue_status = QUEUE_STATUS
    await ami.start()
    collector = Collector(settings_for(ami, api_server, tmp_path / "buffer"))
    task = asyncio.create_task(collector.run())
    rig = Rig(ami, api_server, collector)
    try:
        [first] = await rig.wait_stored(1)
        assert first.name == "LaporQueueSnapshot"
        assert first.node == "cc1"
        [member] = json.loads(first.fields["Members"])
        assert (member["Name"], member["Paused"], member["PausedReason"]) == (
            "petugas-1001",
            "1",
            "istirahat siang",
        )
        assert "ActionID" not in member
        [entry] = json.loads(first.fields["Entries"])
        assert entry["CallerIDNum"] == "081233334444"
        with Session(api_server.app.state.engine) as session:
            live = service.live(session, Thresholds(5, 20), Thresholds(5, 20))
        assert [(a.agent, a.state, a.reason) for a in live.agents] == [
            ("petugas-1001", "paused", "istirahat siang")
        ]
        assert [c.caller for c in live.waiting] == ["081233334444"]
        # The link drops: the next session asks again.
        await ami.drop_all()
        await ami.wait_logins(2)
        stored = await rig.wait_stored(2)
        assert [e.name for e in stored] == ["LaporQueueSnapshot"] * 2
        assert collector.session.snapshots == 2
    finally:
        collector.stop()
        await asyncio.wait_for(task, 10)
        await ami.close()


async def test_a_refused_queue_status_leaves_the_session_up(rig: Rig) -> None:
    # The first session's QueueStatus first: a drop before it was sent would leave one ask.
    await eventually(lambda: rig.ami.queue_status_asked >= 1)
    rig.ami.queue_status = "error"
    await rig.ami.drop_all()
    await rig.ami.wait_logins(2)
    await eventually(lambda: rig.ami.queue_status_asked >= 2)
    await rig.ami.send(call_events("2.1", "0812"))
    stored = await rig.wait_stored(5)
    assert "LaporQueueSnapshot" not in {e.name for e in stored}
    assert rig.collector.session.connections == 2
