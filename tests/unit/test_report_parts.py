"""The daily report's pure parts: labels and formats, the due day, summaries, rendering."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from api.complaints.models import Complaint, ComplaintCategory, ComplaintChannel
from api.complaints.workflow import ComplaintStatus
from api.core.clock import JAKARTA
from api.reports import labels
from api.reports.charts import PNG_MAGIC, all_charts
from api.reports.content import SUMMARY_CHARS, busiest, counts, one_line
from api.reports.pdf import to_pdf
from api.reports.render import CSV_COLUMNS, safe_cell, to_csv, to_html
from api.reports.schedule import due_day
from api.reports.schemas import ComplaintLine, DailyReportContent
from api.stats.schemas import Bucket, Summary

START = datetime(2026, 11, 19, 17, tzinfo=UTC)
ZERO: dict[str, Any] = {
    name: 0
    for name in Summary.model_fields
    if name not in ("start", "end", "short_abandon_seconds", "service_level_seconds")
} | {"abandon_rate_pct": None, "sl_pct": None, "sl2_pct": None}
ZERO |= {"asa_seconds": None, "aht_seconds": None}


def bucket(hour: int, offered: int) -> Bucket:
    at = (START + timedelta(hours=hour)).astimezone(JAKARTA)
    return Bucket(start=at, **{**ZERO, "offered": offered, "answered": offered})


def complaint(**fields: object) -> Complaint:
    base: dict[str, object] = {
        "ticket": "10000001",
        "category": ComplaintCategory.kependudukan,
        "caller_number": "0812",
        "line": "0822",
        "uniqueid": "1.1",
        "taken_at": START + timedelta(hours=9),
    }
    return Complaint.model_validate({**base, **fields})


def report(summary: str = "Jalan rusak") -> DailyReportContent:
    line = ComplaintLine(
        ticket="10000001",
        category=ComplaintCategory.infrastruktur,
        channel=ComplaintChannel.sms,
        status=ComplaintStatus.diterima,
        taken_at=START + timedelta(hours=9),
        summary=summary,
    )
    hours = [bucket(8, 3), bucket(9, 5)]
    calls = Summary(
        start=START,
        end=START + timedelta(days=1),
        short_abandon_seconds=5,
        service_level_seconds=20,
        **{**ZERO, "offered": 1234, "answered": 1200, "sl_pct": 87.5, "asa_seconds": 12.25},
    )
    return DailyReportContent(
        date=date(2026, 11, 20),
        generated_at=START + timedelta(days=1, hours=7),
        start=START,
        end=START + timedelta(days=1),
        calls=calls,
        calls_per_hour=hours,
        busiest_hours=busiest(hours),
        complaints=counts([line]),
        new_complaints=[line],
        forwarded=[],
        overdue=[],
        follow_ups_completed=[],
    )


def test_indonesian_numbers_dates_and_hours() -> None:
    assert labels.number(1234567) == "1.234.567"
    assert labels.number(1234.5, 1) == "1.234,5"
    assert labels.number(None) == labels.DASH
    assert labels.percent(87.5) == "87,5 %"
    assert labels.seconds(12.25) == "12,2 detik"  # two-decimal figures shown to one
    assert labels.long_date(date(2026, 11, 20)) == "Jumat, 20 November 2026"
    assert labels.hour_span(START + timedelta(hours=23)) == f"23.00{labels.DASH}00.00"
    assert labels.local_time(START) == "20-11-2026 00.00"


def test_the_catalog_names_every_category_channel_status_and_column() -> None:
    for kind, members in (
        ("categories", ComplaintCategory),
        ("channels", ComplaintChannel),
        ("statuses", ComplaintStatus),
    ):
        assert set(labels.catalog()[kind]) == {m.value for m in members}
    assert set(CSV_COLUMNS) <= set(labels.catalog()["columns"])


@pytest.mark.parametrize(
    ("utc", "due"),
    [
        (datetime(2026, 11, 28, 23, 59, tzinfo=UTC), date(2026, 11, 27)),  # 06:59 WIB on the 29th
        (datetime(2026, 11, 29, 0, 0, tzinfo=UTC), date(2026, 11, 28)),  # 07:00 WIB
        (datetime(2026, 11, 29, 16, 59, tzinfo=UTC), date(2026, 11, 28)),  # 23:59 WIB
        (datetime(2026, 11, 29, 17, 0, tzinfo=UTC), date(2026, 11, 28)),  # 00:00 WIB, the 30th
    ],
)
def test_due_day_is_yesterday_from_the_report_time_on(utc: datetime, due: date) -> None:
    assert due_day(utc, time(7, 0)) == due


def test_one_line_summary() -> None:
    assert one_line(complaint(summary="Lampu mati", text="x")) == "Lampu mati"
    assert one_line(complaint(text="\n  Jalan   rusak\tparah \nbaris dua")) == "Jalan rusak parah"
    assert one_line(complaint(summary="  ", text=None)) == "Dokumen kependudukan"
    long = one_line(complaint(text="a" * 500))
    assert len(long) == SUMMARY_CHARS
    assert long.endswith("…")


def test_busiest_hours_rank_by_calls_then_time() -> None:
    hours = [bucket(7, 2), bucket(8, 5), bucket(9, 2), bucket(10, 0), bucket(11, 1)]
    assert [b.start.hour for b in busiest(hours)] == [8, 7, 9]
    assert busiest([bucket(3, 0)]) == []


def test_csv_quotes_formulas_and_html_escapes_citizen_text() -> None:
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell(12) == "12"
    assert safe_cell(None) == ""
    hostile = "<img src=x onerror=alert(1)>"
    page = to_html(report(hostile))
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    rows = list(csv.reader(io.StringIO(to_csv(report("=1+1")))))
    assert rows[0] == [labels.text("columns", c) for c in CSV_COLUMNS]
    assert rows[1][:3] == ["calls", "offered", "1234"]
    assert next(r for r in rows if r[0] == "new_complaints")[-1] == "'=1+1"


def test_charts_and_pdf_are_made() -> None:
    charts = all_charts(report())
    assert set(charts) == {"calls_per_hour", "complaints_by_category"}
    assert all(png.startswith(PNG_MAGIC) for png in charts.values())
    assert to_pdf(report()).startswith(b"%PDF-")
    # Citizens' SMS text may hold emoji, other scripts or control characters.
    assert to_pdf(report("Jalan rusak 😀 \u202e 漢字 \x00 ok")).startswith(b"%PDF-")
