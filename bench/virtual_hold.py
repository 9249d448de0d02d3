"""The virtual-hold dialer's added load: AMI actions per callback, with 100 queued.

``--callbacks`` callback requests wait at once. The dialer (api/callbacks/vhold.py) runs
its ticks against a fake AMI peer on loopback (tests/integration/ami_peer.py, which
records every action it receives, logins included) through the API's real AMI client,
on a real database; the placeholders' calls arrive as the collector posts them.

1. First tick: a placeholder for every callback (an Originate each).
2. ``--waiting-ticks`` ticks while all of them wait in the queue.
3. Every citizen busy, then the retry schedule run to its end (placeholders again at
   each delay, busy each time), then the SMS (SIP path: a MessageSend each).
4. Separately, callbacks reached at the first attempt.

Printed: AMI actions per callback (all, and Originates), AMI actions per waiting tick,
and the tick's wall time with every callback queued.

    .venv/bin/python -m bench.virtual_hold --callbacks 100
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from api.callbacks import vhold
from api.callbacks.hold import CallbackHold
from api.callbacks.missed_sms import missed_text, sms_sender
from api.callbacks.service import CallbackCreate, create_callback
from api.core.ami_control import AmiControl
from api.core.clock import utc_now
from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.events.schemas import EventIn
from api.events.service import ingest
from tests.integration.ami_peer import FakeAmi
from tests.integration.event_factory import ami

SECRET = "bench"


def waiting(linkedid: str, number: str) -> list[dict[str, Any]]:
    at = utc_now()
    own = {"Uniqueid": linkedid, "Linkedid": linkedid, "CallerIDNum": number}
    queue = {**own, "Uniqueid": f"{linkedid}-q"}
    return [
        ami("Newchannel", at, **own, Context="vhold-wait", Exten="wait"),
        ami("QueueCallerJoin", at, **queue, Queue="pengaduan", Position="1", Count="1"),
    ]


def dialled(linkedid: str, number: str, callback: str, status: str) -> list[dict[str, Any]]:
    at = utc_now() + timedelta(seconds=30)
    own = {"Uniqueid": linkedid, "Linkedid": linkedid, "CallerIDNum": number}
    queue = {**own, "Uniqueid": f"{linkedid}-q"}
    agent = {"Queue": "pengaduan", "MemberName": "petugas-1001", "HoldTime": "20"}
    report = {"Callback": callback, "DialStatus": status}
    return [
        ami("AgentConnect", at, **queue, **agent, RingTime="1"),
        ami("UserEvent", at, **own, UserEvent="LaporCallbackDial", **report),
        ami("AgentComplete", at, **queue, **agent, TalkTime="20", Reason="agent"),
        ami("Hangup", at, **own, Cause="16"),
    ]


class Rig:
    def __init__(self, url: str, peer: FakeAmi, settings: ApiSettings) -> None:
        self.engine = make_engine(url)
        upgrade(self.engine)
        self.settings = settings
        self.peer = peer
        self.control = AmiControl("127.0.0.1", peer.port, "control", SECRET)
        self.send = sms_sender(settings, self.control)
        self.placed: dict[str, str] = {}  # callback id -> its latest placeholder

    def add(self, count: int, prefix: str) -> dict[str, str]:
        numbers = {}
        with Session(self.engine) as session:
            for n in range(count):
                now = utc_now()
                number = f"0812{prefix}{n:06d}"
                row, _ = create_callback(
                    session,
                    data=CallbackCreate(
                        request_id=f"bench-{prefix}-{n:06d}",
                        number=number,
                        line="082282204761",
                        uniqueid=f"{n}.1",
                        queue_entered_at=now,
                        requested_at=now,
                    ),
                )
                numbers[f"r{row.id}"] = number
        return numbers

    async def tick(self, at: timedelta = timedelta()) -> tuple[vhold.Tick, float]:
        start = time.perf_counter()
        place, now = self.control.place_in_queue, utc_now() + at
        done = await vhold.tick(self.engine, place, self.send, self.settings, missed_text(), now)
        return done, time.perf_counter() - start

    def events(self, events: list[dict[str, Any]]) -> None:
        with Session(self.engine) as session:
            ingest(session, [EventIn.model_validate(e) for e in events], Thresholds())

    def placeholders(self, numbers: dict[str, str]) -> dict[str, str]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(CallbackHold).where(col(CallbackHold.callback_id).in_(list(numbers)))
            ).all()
            return {r.callback_id: r.placeholder for r in rows if r.placeholder}


async def run(args: argparse.Namespace, url: str) -> None:
    peer = FakeAmi(SECRET)
    await peer.start()
    settings = ApiSettings(callback_retry_minutes=[2, 5, 15])
    rig = Rig(url, peer, settings)
    try:
        # Missed every time: the whole schedule, then the SMS.
        numbers = rig.add(args.callbacks, "1")
        before = len(peer.actions)
        done, first = await rig.tick()
        assert len(done.placed) == args.callbacks, done
        held = rig.placeholders(numbers)
        rig.events([e for cb, linked in held.items() for e in waiting(linked, numbers[cb])])
        quiet_start = len(peer.actions)
        ticks = [(await rig.tick())[1] for _ in range(args.waiting_ticks)]
        quiet = len(peer.actions) - quiet_start
        offset = timedelta()
        for delay in [0, *settings.callback_retry_minutes]:
            offset += timedelta(minutes=delay)
            if delay:
                placed, _ = await rig.tick(offset)
                assert len(placed.placed) == args.callbacks, placed
                held = rig.placeholders(numbers)
                rig.events([e for cb, linked in held.items() for e in waiting(linked, numbers[cb])])
            rig.events(
                [e for cb, linked in held.items() for e in dialled(linked, numbers[cb], cb, "BUSY")]
            )
            await rig.tick(offset)
        texted, _ = await rig.tick(offset)
        missed = len(peer.actions) - before
        assert not texted.placed
        sms = len(peer.actions_named("MessageSend"))
        assert sms == args.callbacks, sms
        # Reached at the first attempt.
        reached_numbers = rig.add(args.callbacks, "2")
        before = len(peer.actions)
        await rig.tick()
        held = rig.placeholders(reached_numbers)
        rig.events(
            [
                e
                for cb, linked in held.items()
                for e in dialled(linked, reached_numbers[cb], cb, "ANSWER")
            ]
        )
        await rig.tick()
        reached = len(peer.actions) - before
    finally:
        await peer.close()
        rig.engine.dispose()

    originates = len(peer.actions_named("Originate"))
    logins = len(peer.actions_named("Login"))
    n = args.callbacks
    print(f"callbacks queued at once: {n}")
    print(f"AMI actions per callback reached at the first attempt: {reached / n:.2f}")
    print(
        f"AMI actions per callback missed {1 + len(settings.callback_retry_minutes)} times "
        f"then texted: {missed / n:.2f}"
    )
    print(f"  of all: Originate {originates}, Login {logins}, MessageSend {sms}")
    print(f"AMI actions in {args.waiting_ticks} ticks with all {n} waiting: {quiet}")
    print(f"first tick (placing {n}): {first * 1000:.0f} ms")
    print(
        f"tick with {n} waiting: p50 {statistics.median(ticks) * 1000:.1f} ms, "
        f"max {max(ticks) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=100)
    parser.add_argument("--waiting-ticks", type=int, default=20)
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(run(args, url))


if __name__ == "__main__":
    main()
