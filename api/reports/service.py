"""Generating, storing and finding daily reports (see the package docstring for the design)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.complaints.models import Complaint
from api.complaints.service import StatusChange, change_status
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Principal, Role
from api.core.clock import JAKARTA, WorkCalendar
from api.core.errors import Conflict, InvalidInput, NotFound
from api.core.settings import ApiSettings
from api.events.hourly import Thresholds
from api.reports import content
from api.reports.schemas import DailyReport, DailyReportContent

# The system user that moves complaints into the report; token_id 0 is no real token.
REPORTER = Principal(name="laporan-harian", role=Role.supervisor, token_id=0)


def forward_note(day: date) -> str:
    """The audit note of a move into ``day``'s report; the forwarded list is found by it."""
    return f"Laporan harian {day.isoformat()}"


def yesterday(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(JAKARTA).date() - timedelta(days=1)


def find(session: Session, day: date) -> DailyReport | None:
    return session.exec(select(DailyReport).where(DailyReport.day == day)).first()


def latest(session: Session) -> DailyReport | None:
    """The most recent day's stored report, if any."""
    return session.exec(select(DailyReport).order_by(col(DailyReport.day).desc())).first()


def get(session: Session, day: date) -> DailyReport:
    report = find(session, day)
    if report is None:
        raise NotFound(
            f"no daily report for {day.isoformat()} yet: it is made after the day ends, at the"
            f" configured time (07:00 WIB by default), or by `lapor report daily --date {day}`",
            "no_report",
        )
    return report


def load(report: DailyReport) -> DailyReportContent:
    return DailyReportContent.model_validate_json(report.content)


def forward(session: Session, day: date, calendar: WorkCalendar, now: datetime) -> int:
    """Move every verified complaint to dilaporkan in ``day``'s report; return how many."""
    tickets = session.exec(
        select(Complaint.ticket)
        .where(Complaint.status == ComplaintStatus.diverifikasi)
        .order_by(col(Complaint.ticket))
    ).all()
    moved = 0
    for ticket in tickets:
        change = StatusChange(to=ComplaintStatus.dilaporkan, note=forward_note(day))
        try:
            change_status(
                session,
                ticket=ticket,
                change=change,
                principal=REPORTER,
                calendar=calendar,
                now=now,
            )
            moved += 1
        except Conflict:
            session.rollback()  # someone moved it meanwhile (rejected, or another report)
    return moved


def _check_day_over(day: date, now: datetime) -> None:
    if content.day_window(day)[1] > now:
        raise InvalidInput(f"{day.isoformat()} is not over yet in Asia/Jakarta")


def _store(
    session: Session, day: date, body: DailyReportContent, stored: DailyReport | None
) -> DailyReport:
    report = stored or DailyReport(day=day, generated_at=body.generated_at, content="")
    report.generated_at = body.generated_at
    report.content = body.model_dump_json()
    session.add(report)
    try:
        session.commit()
    except IntegrityError:
        # Another generator stored this day first; theirs stands.
        session.rollback()
        return get(session, day)
    session.refresh(report)
    return report


def generate(
    session: Session,
    *,
    day: date,
    settings: ApiSettings,
    force: bool = False,
    now: datetime | None = None,
) -> tuple[DailyReport, bool]:
    """The stored report of ``day``, made now if needed; returns (report, made_now)."""
    now = now or datetime.now(UTC)
    _check_day_over(day, now)
    stored = find(session, day)
    if stored is not None and not force:
        return stored, False
    if stored is None:
        forward(session, day, WorkCalendar(settings.holidays), now)
    body = content.build(
        session,
        day=day,
        thresholds=Thresholds(settings.short_abandon_seconds, settings.service_level_seconds),
        now=now,
        actor=REPORTER.name,
        note=forward_note(day),
    )
    return _store(session, day, body, stored), True
