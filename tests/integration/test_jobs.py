"""Run-once jobs: many replicas race for the same period and exactly one wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.run_once import JobRun, claim, finish


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def test_racing_replicas_claim_a_period_once(database_url: str) -> None:
    engines = [migrated(database_url) for _ in range(4)]  # one engine per "replica"
    start = threading.Barrier(len(engines))
    wins: list[str] = []

    def replica(index: int) -> None:
        with Session(engines[index]) as session:
            start.wait()
            if claim(session, job="daily_report", period="2026-11-27", runner=f"api-{index}"):
                wins.append(f"api-{index}")

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(engines))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    with Session(engines[0]) as session:
        [run] = session.exec(select(JobRun)).all()
        assert run.runner == wins[0]
        finish(session, job="daily_report", period="2026-11-27")
        assert not claim(session, job="daily_report", period="2026-11-27", runner="late")
        assert claim(session, job="daily_report", period="2026-11-28", runner="late")
    for engine in engines:
        engine.dispose()


def test_a_dead_runners_claim_is_taken_over_after_its_lease(sqlite_url: str) -> None:
    engine = migrated(sqlite_url)
    with Session(engine) as session:
        assert claim(session, job="daily_report", period="2026-11-27", runner="crashed")
        assert not claim(session, job="daily_report", period="2026-11-27", runner="b")
        run = session.exec(select(JobRun)).one()
        run.started_at = datetime.now(UTC) - timedelta(hours=1)
        session.add(run)
        session.commit()
        assert claim(session, job="daily_report", period="2026-11-27", runner="b")
        assert not claim(session, job="daily_report", period="2026-11-27", runner="c")
        assert session.exec(select(JobRun)).one().runner == "b"
    engine.dispose()
