"""Ingest throughput on PostgreSQL: AMI events end to end, and queue_log import.

1. A fake AMI peer (in this process) sends ``--calls`` synthetic calls' events (9 per
   answered call, as Asterisk 22 sends them) to a real ``lapor-collector`` process, which
   buffers them on disk and posts them to a real ``lapor-api`` process on PostgreSQL.
   Timed from the first byte sent until every event is stored.
2. ``import_file`` loads a synthetic queue_log of the same calls into a fresh database.

    .venv/bin/python -m bench.ingest --calls 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from api.auth import Role
from api.db import make_engine
from api.events.models import AmiEvent
from api.migrate import upgrade
from api.queue_log import import_file
from api.stats.aggregate import Thresholds
from tests.conftest import temporary_postgres_database
from tests.e2e.services import BIN, ApiProcess
from tests.integration.ami_peer import FakeAmi, frame
from tests.integration.event_factory import FakeCall

START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def synthetic(calls: int) -> list[FakeCall]:
    kinds = ["answered"] * 8 + ["abandoned", "callback"]
    return [
        FakeCall(
            f"08{i:010d}",
            START + timedelta(seconds=7 * i),
            kinds[i % 10],
            wait=i % 60,
            talk=30 + i % 300,
            agent=f"petugas-{1001 + i % 20}",
            category="lainnya",
        )
        for i in range(calls)
    ]


def stored(engine: object) -> int:
    with Session(engine) as session:  # type: ignore[arg-type]
        return int(session.execute(select(func.count()).select_from(AmiEvent)).scalar_one())


async def collector_to_postgres(calls: list[FakeCall], folder: Path) -> tuple[int, float]:
    wire = b"".join(frame(**e["fields"]) for c in calls for e in c.events)
    total = sum(len(c.events) for c in calls)
    with temporary_postgres_database() as url:
        api = ApiProcess(url, folder / "api.log")
        api.start()
        peer = FakeAmi()
        await peer.start()
        env = {
            **os.environ,
            "LAPOR_COLLECTOR_NODE": "bench",
            "LAPOR_COLLECTOR_AMI_PORT": str(peer.port),
            "LAPOR_COLLECTOR_AMI_SECRET": peer.secret,
            "LAPOR_COLLECTOR_API_URL": api.url,
            "LAPOR_COLLECTOR_API_TOKEN": api.token(Role.collector),
            "LAPOR_COLLECTOR_BUFFER_DIR": str(folder / "buffer"),
            "LAPOR_COLLECTOR_BATCH_SIZE": "2000",
            "LAPOR_COLLECTOR_LOG_LEVEL": "WARNING",
        }
        with (folder / "collector.log").open("wb") as log:
            collector = await asyncio.create_subprocess_exec(
                str(BIN / "lapor-collector"), env=env, stdout=log, stderr=log
            )
        try:
            await peer.wait_logins(1, timeout=20)
            t0 = time.perf_counter()
            await peer.send(wire)
            count = 0
            for _ in range(3000):  # at most 10 minutes
                count = await asyncio.to_thread(stored, api.engine)
                if count >= total:
                    break
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - t0
        finally:
            collector.terminate()
            await collector.wait()
            await peer.close()
            api.close()
    return count, elapsed


def import_queue_log(calls: list[FakeCall], folder: Path) -> tuple[int, float]:
    path = folder / "queue_log"
    lines = sorted(
        (line for c in calls for line in c.queue_log), key=lambda s: int(s.split("|")[0])
    )
    path.write_text("\n".join(lines) + "\n")
    with temporary_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        summary = import_file(engine, path, node="bench", thresholds=Thresholds())
        elapsed = time.perf_counter() - t0
        engine.dispose()
    return summary.lines, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    calls = synthetic(args.calls)
    with tempfile.TemporaryDirectory() as tmp:
        events, seconds = asyncio.run(collector_to_postgres(calls, Path(tmp)))
        print(
            f"AMI -> collector -> API -> PostgreSQL: {events} events in {seconds:.1f} s "
            f"= {events / seconds:.0f} events/s"
        )
        lines, seconds = import_queue_log(calls, Path(tmp))
        print(f"queue_log import: {lines} lines in {seconds:.1f} s = {lines / seconds:.0f} lines/s")


if __name__ == "__main__":
    main()
