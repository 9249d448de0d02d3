"""The scheduled daily report runs once per day with two real API replicas on one database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from api.complaints.models import ComplaintHistory
from api.core.auth import Role
from api.core.clock import JAKARTA
from api.core.db import make_engine
from api.core.errors import InvalidInput
from api.core.migrate import upgrade
from api.core.run_once import JobRun
from api.core.settings import ApiSettings
from api.reports import labels
from api.reports.delivery_record import of_day
from api.reports.schedule import JOB, attempt, due_day
from api.reports.schemas import DailyReport
from api.reports.service import REPORTER
from tests.conftest import ApiHarness
from tests.e2e.services import ApiProcess
from tests.integration.delivery_fakes import Mailbox, smtp_server
from tests.integration.report_seed import seed

ROLES = ("collector", "ivr", "agent", "supervisor", "leadership")


def _wait_for(condition: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        time.sleep(0.2)


def test_two_replicas_make_the_due_report_once(api: ApiHarness, tmp_path: Path) -> None:
    with smtp_server() as (inbox, smtp_port):
        _two_replicas_make_the_due_report_once(api, tmp_path, inbox, smtp_port)


def _two_replicas_make_the_due_report_once(
    api: ApiHarness, tmp_path: Path, inbox: Mailbox, smtp_port: int
) -> None:
    seeded = seed(api.client, api.engine, {r: api.headers(Role(r)) for r in ROLES})
    url = api.engine.url.render_as_string(hide_password=False)
    env = {
        "LAPOR_API_REPORT_ENABLED": "true",
        "LAPOR_API_REPORT_TIME": "00:00",  # due at once: yesterday's report
        "LAPOR_API_REPORT_CHECK_SECONDS": "0.2",
        "LAPOR_API_LOG_LEVEL": "info",
        "LAPOR_API_SMTP_HOST": "127.0.0.1",
        "LAPOR_API_SMTP_PORT": str(smtp_port),
        "LAPOR_API_SMTP_SECURITY": "none",
        "LAPOR_API_SMTP_FROM": "pusat-panggilan@bandarlampung.example",
        "LAPOR_API_REPORT_RECIPIENTS": "walikota@bandarlampung.example, sekda@example.org",
    }
    replicas = [ApiProcess(url, tmp_path / f"api-{i}.log", extra_env=env) for i in range(2)]
    period = due_day(datetime.now(UTC), clock(0, 0)).isoformat()
    logs = [r.log_path for r in replicas]

    def tried(log: Path) -> bool:
        return log.exists() and f"daily report {period}:" in log.read_text()

    def delivered(log: Path) -> bool:
        return f"daily report {period}: all delivered" in log.read_text()

    try:
        starters = [threading.Thread(target=r.start) for r in replicas]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        _wait_for("both replicas to try the report", lambda: all(tried(log) for log in logs))
        with Session(api.engine) as session:
            _wait_for(
                "the run to finish",
                lambda: (
                    session.exec(
                        select(JobRun).where(
                            JobRun.job == JOB, col(JobRun.finished_at).is_not(None)
                        )
                    ).first()
                    is not None
                ),
            )
            _wait_for(
                "the report to be emailed",
                lambda: [r.status for r in of_day(session, date.fromisoformat(period))] == ["sent"],
            )
            # Both replicas go on checking; neither sends it again.
            _wait_for("both replicas to see it sent", lambda: all(delivered(log) for log in logs))
    finally:
        for replica in replicas:
            replica.close()
    texts = [log.read_text() for log in logs]
    assert sum("generated" in text for text in texts) == 1, texts
    assert sum("claimed by another replica" in text for text in texts) == 1, texts
    with Session(api.engine) as session:
        # The served replicas run the retention purge too: only the report's claim here.
        [run] = session.exec(select(JobRun).where(JobRun.job == JOB)).all()
        assert (run.job, run.period, run.error) == (JOB, period, None)
        [report] = session.exec(select(DailyReport)).all()
        assert report.day.isoformat() == period
        moves = session.exec(
            select(ComplaintHistory).where(col(ComplaintHistory.actor) == REPORTER.name)
        ).all()
    assert len(moves) == len(seeded.verified)
    assert len({m.complaint_id for m in moves}) == len(seeded.verified)
    [(recipients, message)] = inbox.received
    assert recipients == ["walikota@bandarlampung.example", "sekda@example.org"]
    long_date = labels.long_date(date.fromisoformat(period))
    assert message["Subject"] == labels.text("delivery", "subject", date=long_date)
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == f"laporan-harian-{period}.pdf"


def test_a_failed_run_stays_claimed_for_a_retry_and_a_done_run_is_not_repeated(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    settings = ApiSettings(database_url=sqlite_url)
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    try:
        # Today isn't over, so generating fails: the error is kept and the run not finished.
        with pytest.raises(InvalidInput):
            attempt(engine, settings, "replica-a", today)
        assert not attempt(engine, settings, "replica-b", today)  # within a's lease
        with Session(engine) as session:
            [run] = session.exec(select(JobRun)).all()
            assert run.finished_at is None
            assert "not over yet" in (run.error or "")
            assert session.exec(select(DailyReport)).all() == []
        past = today - timedelta(days=2)
        assert attempt(engine, settings, "replica-a", past)
        assert attempt(engine, settings, "replica-b", past)  # done elsewhere: nothing to do
        with Session(engine) as session:
            assert [r.day for r in session.exec(select(DailyReport)).all()] == [past]
    finally:
        engine.dispose()
