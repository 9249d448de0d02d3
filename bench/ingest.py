"""Ingest throughput on PostgreSQL: AMI events end to end, and queue_log import.

1. A fake AMI peer (in this process) sends ``--calls`` synthetic calls' events (9 per
   answered call, as Asterisk 22 sends them) to a real ``lapor-collector`` process, which
   buffers them on disk and posts them to a real ``lapor-api`` process on PostgreSQL.
   Timed from the first byte sent until every event is stored.
2. ``import_file`` loads a synthetic queue_log of ``--import-calls`` calls (same shape)
   into a fresh database, then loads it again (every line a duplicate).

Each is run ``--runs`` times; the load average is printed too, since the figures are only
as good as the machine is idle.

    .venv/bin/python -m bench.ingest --calls 3000 --import-calls 30000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import Session

from api.core.auth import Role
from api.core.db import make_engine
from api.core.migrate import upgrade
from api.events.hourly import Thresholds
from api.events.models import AmiEvent, Call
from api.queue_log import import_file
from api.queue_log._store import refresh_hours_of
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


def _stat(path: Path) -> tuple[str, list[str]]:
    """A /proc/<pid>/stat file as (command name, the fields after it); OSError if gone."""
    name, rest = path.read_text().rsplit(") ", 1)
    return name.partition("(")[2], rest.split()


def _ticks(fields: list[str], *indexes: int) -> float:
    return sum(int(fields[i]) for i in indexes) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        _, fields = _stat(Path(f"/proc/{pid}/stat"))
    except OSError:
        return 0.0
    return _ticks(fields, 11, 12)


def backends(engine: object) -> list[int]:
    """PostgreSQL backends on this database other than our own (the API's)."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    with Session(engine) as session:  # type: ignore[arg-type]
        return [int(pid) for pid in session.execute(query).scalars()]


def api_pid(api: ApiProcess) -> int:
    process = api._process  # the bench reads its CPU time; ApiProcess keeps it private
    assert process is not None
    return process.pid


def collector_env(peer: FakeAmi, api: ApiProcess, folder: Path, **extra: str) -> dict[str, str]:
    """A ``lapor-collector``'s environment: the fake peer's AMI, the API, a buffer in
    ``folder``; ``extra`` settings over them."""
    return {
        **os.environ,
        "LAPOR_COLLECTOR_NODE": "bench",
        "LAPOR_COLLECTOR_AMI_PORT": str(peer.port),
        "LAPOR_COLLECTOR_AMI_SECRET": peer.secret,
        "LAPOR_COLLECTOR_API_URL": api.url,
        "LAPOR_COLLECTOR_API_TOKEN": api.token(Role.collector),
        "LAPOR_COLLECTOR_BUFFER_DIR": str(folder / "buffer"),
        "LAPOR_COLLECTOR_LOG_LEVEL": "WARNING",
        **extra,
    }


@dataclass
class IngestRun:
    events: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds used meanwhile, per process


async def collector_to_postgres(calls: list[FakeCall], folder: Path) -> IngestRun:
    wire = b"".join(frame(**e["fields"]) for c in calls for e in c.events)
    total = sum(len(c.events) for c in calls)
    with temporary_postgres_database() as url:
        api = ApiProcess(url, folder / "api.log")
        api.start()
        peer = FakeAmi()
        await peer.start()
        env = collector_env(peer, api, folder, LAPOR_COLLECTOR_BATCH_SIZE="2000")
        with (folder / "collector.log").open("wb") as log:
            collector = await asyncio.create_subprocess_exec(
                str(BIN / "lapor-collector"), env=env, stdout=log, stderr=log
            )
        try:
            await peer.wait_logins(1, timeout=20)
            pids = {
                "collector": collector.pid,
                "api": api_pid(api),
                **{f"postgres {pid}": pid for pid in backends(api.engine)},
            }
            cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
            t0 = time.perf_counter()
            await peer.send(wire)
            count = 0
            for _ in range(12_000):  # at most 10 minutes
                count = await asyncio.to_thread(stored, api.engine)
                if count >= total:
                    break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - t0
            # A backend the API opened meanwhile worked only for this run.
            pids.update({f"postgres {pid}": pid for pid in backends(api.engine)})
            cpu = {name: cpu_seconds(pid) - cpu0.get(name, 0.0) for name, pid in pids.items()}
        finally:
            collector.terminate()
            await collector.wait()
            await peer.close()
            api.close()
    return IngestRun(count, elapsed, cpu)


@dataclass
class ImportRun:
    lines: int
    seconds: float
    again: float  # seconds to import the same file again (every line a duplicate)
    cpu: dict[str, float]  # CPU seconds of both imports: this process, PostgreSQL


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process so far, ended backends included.

    A backend whose connection closed meanwhile is gone from /proc: the postmaster's
    reaped-children time holds it (the background writers count too: they work for the
    import as well).
    """
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = _stat(stat)
        except OSError:
            continue
        if name == "postgres":
            total += _ticks(fields, 11, 12)  # utime, stime
            if fields[1] == "1":  # the postmaster: add its reaped children's
                total += _ticks(fields, 13, 14)
    return total


def write_queue_log(calls: list[FakeCall], folder: Path) -> tuple[Path, int]:
    """The calls' queue_log lines in time order, as a file; and how many lines."""
    path = folder / "queue_log"
    lines = sorted(
        (line for c in calls for line in c.queue_log), key=lambda s: int(s.split("|")[0])
    )
    path.write_text("\n".join(lines) + "\n")
    return path, len(lines)


def import_queue_log(calls: list[FakeCall], folder: Path) -> ImportRun:
    path, lines = write_queue_log(calls, folder)
    with temporary_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        pg0 = postgres_cpu()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        summary = import_file(engine, path, node="bench", thresholds=Thresholds())
        t1 = time.perf_counter()
        again = import_file(engine, path, node="bench", thresholds=Thresholds())
        t2 = time.perf_counter()
        cpu = {"python": time.process_time() - cpu0}
        cpu["postgres"] = postgres_cpu() - pg0
        engine.dispose()
    assert summary.accepted == again.duplicates == lines, (summary, again)
    return ImportRun(summary.lines, t1 - t0, t2 - t1, cpu)


@dataclass
class FloorRun:
    calls: int
    copy: float  # seconds to COPY the finished call rows in
    rollups: float  # seconds to rebuild the hours they touch


def storage_floor(calls: list[FakeCall], folder: Path) -> tuple[int, FloorRun]:
    """What PostgreSQL alone needs to store an import's result: the call rows an import
    made, ``COPY``'d in binary into a fresh database (no reading, parsing or deriving), and
    their hours' rollups rebuilt. Returns the file's line count too."""
    path, lines = write_queue_log(calls, folder)
    names = ", ".join(c for c in Call.model_fields if c != "id")
    with temporary_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        import_file(engine, path, node="bench", thresholds=Thresholds())
        with engine.connect() as connection:
            cursor = connection.connection.cursor()
            with cursor.copy(f"COPY (SELECT {names} FROM call) TO STDOUT (FORMAT BINARY)") as out:
                payload = [bytes(chunk) for chunk in out]
            hours = {
                int(at.timestamp()) // 3600
                for (at,) in connection.execute(text("SELECT queue_entered_at FROM call"))
                if at is not None
            }
        engine.dispose()
    with temporary_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.connect() as connection:
            cursor = connection.connection.cursor()
            t0 = time.perf_counter()
            with cursor.copy(f"COPY call ({names}) FROM STDIN (FORMAT BINARY)") as into:
                for chunk in payload:
                    into.write(chunk)
            connection.commit()
            t1 = time.perf_counter()
            count = int(connection.execute(text("SELECT count(*) FROM call")).scalar_one())
        refresh_hours_of(engine, hours, Thresholds())
        t2 = time.perf_counter()
        engine.dispose()
    return lines, FloorRun(count, t1 - t0, t2 - t1)


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--import-calls", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-ingest", action="store_true", help="only the queue_log import")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time PostgreSQL alone storing the import's finished call rows",
    )
    args = parser.parse_args()
    calls = synthetic(args.calls)
    print(f"{os.cpu_count()} CPUs; load average at start {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        rates = []
        for _ in range(0 if args.skip_ingest else args.runs):
            run = asyncio.run(collector_to_postgres(calls, Path(tmp)))
            rates.append(run.events / run.seconds)
            per_event = ", ".join(
                f"{name} {1e6 * seconds / run.events:.0f}"
                for name, seconds in run.cpu.items()
                if seconds > 0
            )
            print(
                f"AMI -> collector -> API -> PostgreSQL: {run.events} events in "
                f"{run.seconds:.2f} s = {rates[-1]:.0f} events/s (load {load()}); "
                f"CPU µs/event: {per_event}"
            )
        history = synthetic(args.import_calls)
        first, second = [], []
        for _ in range(args.runs):
            imp = import_queue_log(history, Path(tmp))
            first.append(imp.lines / imp.seconds)
            second.append(imp.lines / imp.again)
            per_line = ", ".join(
                f"{name} {1e6 * seconds / (2 * imp.lines):.1f}" for name, seconds in imp.cpu.items()
            )
            print(
                f"queue_log import: {imp.lines} lines in {imp.seconds:.2f} s = "
                f"{first[-1]:.0f} lines/s; again (all duplicates) {second[-1]:.0f} lines/s "
                f"(load {load()}); CPU µs/line over both: {per_line}"
            )
        for _ in range(args.runs if args.floor else 0):
            lines, floor = storage_floor(history, Path(tmp))
            print(
                f"PostgreSQL alone: COPY of the {floor.calls} call rows of {lines} lines "
                f"{floor.copy:.2f} s, their rollups {floor.rollups:.2f} s: at most "
                f"{lines / (floor.copy + floor.rollups):.0f} lines/s before reading a line "
                f"(load {load()})"
            )
    ingest = f"{max(rates):.0f} / {statistics.median(rates):.0f}" if rates else "-"
    print(
        f"best / median: ingest {ingest} events/s, "
        f"import {max(first):.0f} / {statistics.median(first):.0f} lines/s, "
        f"re-import {max(second):.0f} / {statistics.median(second):.0f} lines/s"
    )


if __name__ == "__main__":
    main()
