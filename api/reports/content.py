"""A day's report content, built with the same functions the stats and complaint routes use."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from sqlmodel import Session, col, select

from api.complaints.lines import line_of
from api.complaints.models import Complaint, ComplaintCategory, ComplaintChannel, ComplaintHistory
from api.complaints.search import MAX_PAGE, ComplaintFilter, overdue, search
from api.complaints.workflow import ComplaintStatus
from api.events.hourly import Thresholds
from api.reports import labels
from api.reports.schemas import (
    BusyHour,
    ComplaintCounts,
    ComplaintLine,
    DailyReportContent,
    FollowUpLine,
    OverdueLine,
)
from api.stats import service as stats
from api.stats.schemas import Bucket
from api.surveys import service as surveys

SUMMARY_CHARS = 160
BUSIEST = 3
_SPACES = re.compile(r"\s+")
E = TypeVar("E", bound=StrEnum)


def day_window(day: date) -> tuple[datetime, datetime]:
    """The Asia/Jakarta day in UTC, exactly as ``/stats/summary?from=D&to=D`` reads it."""
    return stats.window(day.isoformat(), day.isoformat())


def one_line(complaint: Complaint) -> str:
    """The officer's summary, else the first line of the citizen's text, else the category."""
    for candidate in (complaint.summary, complaint.text):
        lines = [line for line in (candidate or "").splitlines() if line.strip()]
        if lines:
            line = _SPACES.sub(" ", lines[0]).strip()
            return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"
    return labels.text("categories", complaint.category.value)


def complaint_line(complaint: Complaint) -> ComplaintLine:
    return line_of(complaint, ComplaintLine, summary=one_line(complaint))


def taken_on(session: Session, lo: datetime, hi: datetime) -> list[Complaint]:
    """Every complaint taken in [lo, hi), oldest first (paged like ``GET /complaints``)."""
    found: list[Complaint] = []
    while True:
        rows, page = search(
            session, ComplaintFilter(taken_from=lo, taken_to=hi), offset=len(found), limit=MAX_PAGE
        )
        found += rows
        if not rows or len(found) >= page.total:
            break
    return sorted(found, key=lambda c: (c.taken_at, c.ticket))


def _counts(members: type[E], values: list[E]) -> dict[E, int]:
    seen = Counter(values)
    return {member: seen[member] for member in members}


def counts(lines: list[ComplaintLine]) -> ComplaintCounts:
    return ComplaintCounts(
        total=len(lines),
        by_category=_counts(ComplaintCategory, [line.category for line in lines]),
        by_channel=_counts(ComplaintChannel, [line.channel for line in lines]),
        by_status=_counts(ComplaintStatus, [line.status for line in lines]),
    )


def busiest(hours: list[Bucket]) -> list[BusyHour]:
    """The hours with the most calls offered (earliest first among equals)."""
    ranked = sorted((h for h in hours if h.offered), key=lambda h: (-h.offered, h.start))
    return [BusyHour(start=h.start, offered=h.offered, answered=h.answered) for h in ranked][
        :BUSIEST
    ]


def forwarded(session: Session, actor: str, note: str) -> list[ComplaintLine]:
    """The complaints this report moved to dilaporkan, found by their audit rows."""
    rows = session.exec(
        select(Complaint)
        .join(ComplaintHistory, col(ComplaintHistory.complaint_id) == col(Complaint.id))
        .where(
            ComplaintHistory.actor == actor,
            ComplaintHistory.note == note,
            ComplaintHistory.to_status == ComplaintStatus.dilaporkan,
        )
        .order_by(col(Complaint.ticket))
    ).all()
    return [complaint_line(c) for c in rows]


def late(session: Session, now: datetime) -> list[OverdueLine]:
    """What ``GET /complaints/overdue`` lists at ``now``."""
    return [
        line_of(c, OverdueLine, summary=one_line(c))
        for c in overdue(session, now)
        if c.due_at is not None
    ]


def completed(session: Session, lo: datetime, hi: datetime) -> list[FollowUpLine]:
    """Complaints moved to selesai in [lo, hi), from the audit trail."""
    rows = session.exec(
        select(ComplaintHistory, Complaint)
        .join(Complaint, col(ComplaintHistory.complaint_id) == col(Complaint.id))
        .where(
            ComplaintHistory.to_status == ComplaintStatus.selesai,
            col(ComplaintHistory.at) >= lo,
            col(ComplaintHistory.at) < hi,
        )
        .order_by(col(ComplaintHistory.at), col(ComplaintHistory.id))
    ).all()
    return [line_of(c, FollowUpLine, done_at=h.at, note=h.note.strip()) for h, c in rows]


def build(
    session: Session,
    *,
    day: date,
    thresholds: Thresholds,
    now: datetime,
    actor: str,
    note: str,
) -> DailyReportContent:
    """The report of ``day`` as the database stands at ``now``."""
    lo, hi = day_window(day)
    hours = stats.timeseries(session, stats.Scope(lo, hi), "hour")
    new = [complaint_line(c) for c in taken_on(session, lo, hi)]
    return DailyReportContent(
        date=day,
        generated_at=now,
        start=lo,
        end=hi,
        calls=stats.summary(session, stats.Scope(lo, hi), thresholds, thresholds),
        calls_per_hour=hours,
        busiest_hours=busiest(hours),
        complaints=counts(new),
        new_complaints=new,
        forwarded=forwarded(session, actor, note),
        overdue=late(session, now),
        follow_ups_completed=completed(session, lo, hi),
        survey=surveys.stats(session, lo, hi),
    )
