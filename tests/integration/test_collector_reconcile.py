"""The collector's own reconcile: queue_log lines of the gap sent after every AMI login
(a fake AMI peer, the real API on SQLite and PostgreSQL, a real queue_log file)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collector import Collector
from tests.integration.ami_peer import FakeAmi, eventually
from tests.integration.test_collector import ApiServer, api_server, running, settings_for

__all__ = ["api_server"]


def call_lines(uniqueid: str, caller: str, at: int) -> list[str]:
    """One answered call as app_queue writes it in queue_log."""
    return [
        f"{at}|{uniqueid}|pengaduan|NONE|ENTERQUEUE||{caller}|1",
        f"{at + 4}|{uniqueid}|pengaduan|petugas-1001|CONNECT|4|{uniqueid}9|1",
        f"{at + 30}|{uniqueid}|pengaduan|petugas-1001|COMPLETEAGENT|4|26|1",
    ]


@dataclass
class Rig:
    ami: FakeAmi
    api: ApiServer
    collector: Collector
    queue_log: Path

    def append(self, lines: list[str]) -> None:
        with self.queue_log.open("a") as out:
            out.write("".join(f"{line}\n" for line in lines))

    def callers(self) -> dict[str, str | None]:
        return {c.caller or "": c.outcome for c in self.api.calls()}


@pytest.fixture
async def rig(api_server: ApiServer, tmp_path: Path) -> AsyncIterator[Rig]:
    now = int(time.time())
    queue_log = tmp_path / "queue_log"
    queue_log.write_text(
        "\n".join(
            [
                *call_lines("1.1", "0811", now - 2 * 3600),  # older than reconcile_seconds
                *call_lines("1.2", "0812", now - 600),
                "garbage line",
                f"{now - 500}|NONE|pengaduan|petugas-1001|ADDMEMBER|",
            ]
        )
        + "\n"
    )
    ami = FakeAmi()
    await ami.start()
    settings = settings_for(
        ami, api_server, tmp_path / "buffer", queue_log=queue_log, reconcile_seconds=3600
    )
    try:
        async with running(ami, settings) as collector:
            yield Rig(ami, api_server, collector, queue_log)
    finally:
        await ami.close()


async def test_the_first_login_sends_the_last_reconcile_seconds(rig: Rig) -> None:
    await eventually(lambda: "0812" in rig.callers())
    assert rig.callers() == {"0812": "answered"}  # 0811 is older than the window


async def test_a_reconnect_sends_the_gap_and_nothing_twice(rig: Rig) -> None:
    await eventually(lambda: "0812" in rig.callers())
    sync = rig.collector.queue_log
    assert sync is not None
    # The first login's send is done: 0812's three lines and the ADDMEMBER are new.
    await eventually(lambda: sync.sent == 4)
    # AMI drops; meanwhile a call happens that no AMI event will ever tell.
    await rig.ami.drop_all()
    rig.append(call_lines("1.3", "0813", int(time.time()) - 40))
    await rig.ami.wait_logins(2)
    await eventually(lambda: "0813" in rig.callers())
    assert rig.callers() == {"0812": "answered", "0813": "answered"}
    # Only the gap's three lines were new: the margin re-sent nothing stored before as new.
    await eventually(lambda: sync.sent == 4 + 3)


async def test_an_unreadable_queue_log_leaves_the_session_up(rig: Rig) -> None:
    await eventually(lambda: "0812" in rig.callers())
    rig.queue_log.unlink()
    await rig.ami.drop_all()
    await rig.ami.wait_logins(2)
    await eventually(lambda: rig.collector.session.connected)
    assert rig.collector.session.connected
