"""KPI endpoint latency over 1 M or 10 M synthetic calls on PostgreSQL, rollups vs naive.

Fills a fresh PostgreSQL database with calls spread over ``--days`` (in SQL, with
generate_series), builds the hourly rollups, then times ``GET /stats/summary`` (a year
window whose edges fall mid-hour, so raw calls are read at both ends) and
``GET /stats/timeseries`` (a year per day, a month per hour) through the app, and the
naive aggregate over raw call rows for the same year window.

    .venv/bin/python -m bench.stats --calls 1000000
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from api.core.auth import Role, create_token
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.events import hourly
from api.events.hourly import Thresholds
from api.main import create_app
from api.stats import aggregate as agg
from tests.conftest import temporary_postgres_database

START = datetime(2024, 1, 1, tzinfo=UTC)

FILL = """
INSERT INTO call (node, linkedid, caller, queue, category, queue_entered_at, answered_at,
                  ended_at, hold_seconds, wait_seconds, talk_seconds, agent, outcome)
SELECT 'bench', i::text, '0812' || lpad((i % 100000000)::text, 8, '0'), 'pengaduan',
       (ARRAY['infrastruktur','kependudukan','pelayanan_publik','lainnya'])[1 + i % 4],
       entered,
       CASE WHEN r < 0.8 THEN entered + make_interval(secs => w) END,
       entered + make_interval(secs => w + t),
       CASE WHEN r < 0.8 THEN w END, w, CASE WHEN r < 0.8 THEN t END,
       CASE WHEN r < 0.8 THEN 'petugas-' || (1001 + i % 40) END,
       CASE WHEN r < 0.8 THEN 'answered' WHEN r < 0.92 THEN 'abandoned'
            WHEN r < 0.95 THEN 'short_abandoned' WHEN r < 0.98 THEN 'exit_timeout'
            ELSE 'callback_requested' END
FROM (
  SELECT i, random() AS r, (random() * 120)::int AS w, 30 + (random() * 570)::int AS t,
         :start + make_interval(secs => (i::float8 * :span / :n)) AS entered
  FROM generate_series(1, :n) AS i
) AS g
"""


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pcts(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"p50 {statistics.median(samples):.1f} ms, p95 {q[18]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with temporary_postgres_database() as url:
        app = create_app(ApiSettings(database_url=url))
        engine = app.state.engine
        upgrade(engine)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text(FILL), {"start": START, "span": args.days * 86400, "n": args.calls})
            conn.execute(text("ANALYZE call"))
        fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        with Session(engine) as session:
            rows = hourly.rebuild_all(session, Thresholds())
            session.commit()
            # As autovacuum would soon: without statistics the planner sorts a year of
            # rollups on disk instead of hashing them.
            session.execute(text("ANALYZE call_hourly"))
            session.commit()
        rollup = time.perf_counter() - t0
        print(
            f"{args.calls} calls over {args.days} days: filled in {fill:.1f} s, "
            f"{rows} rollup rows built in {rollup:.1f} s"
        )
        with Session(engine) as session:
            token = create_token(session, name="bench", role=Role.supervisor)
        headers = {"Authorization": f"Bearer {token}"}
        lo = START + timedelta(days=200, minutes=17)
        hi = lo + timedelta(days=365, minutes=29)
        year = {"from": lo.isoformat(), "to": hi.isoformat()}
        month = {"from": lo.isoformat(), "to": (lo + timedelta(days=30)).isoformat()}
        with TestClient(app) as client:

            def get(path: str, params: dict[str, str]) -> None:
                response = client.get(path, params=params, headers=headers)
                assert response.status_code == 200, response.text

            summary = timed(lambda: get("/stats/summary", year), args.runs)
            per_day = timed(
                lambda: get("/stats/timeseries", {**year, "interval": "day"}), args.runs
            )
            per_hour = timed(
                lambda: get("/stats/timeseries", {**month, "interval": "hour"}), args.runs
            )
        with Session(engine) as session:
            naive = timed(
                lambda: agg.raw_counters(session, [hourly.in_window(lo, hi)], Thresholds()),
                max(5, args.runs // 4),
            )
        engine.dispose()
    print(f"/stats/summary (1 year, mid-hour edges): {pcts(summary)}")
    print(f"/stats/timeseries (1 year by day): {pcts(per_day)}")
    print(f"/stats/timeseries (30 days by hour): {pcts(per_hour)}")
    print(f"naive aggregate over raw calls (same year): {pcts(naive)}")
    print(f"naive / rollup (p50): {statistics.median(naive) / statistics.median(summary):.0f}x")


if __name__ == "__main__":
    main()
