"""The report as PDF (fpdf2, pure Python), in DejaVu Sans as shipped with matplotlib."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fpdf import FPDF

from api.reports import labels
from api.reports.charts import all_charts
from api.reports.render import sections
from api.reports.schemas import DailyReportContent

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"


def _document(report: DailyReportContent) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"{labels.text('report', 'title')} {report.date.isoformat()}")
    pdf.set_creation_date(report.generated_at)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _heading(pdf: FPDF, text: str, size: float = 13) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.ln(2)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(
    pdf: FPDF, head: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
) -> None:
    pdf.set_font(FONT, "", 8.5)
    if not rows:
        pdf.multi_cell(0, 5, labels.text("report", "none"), new_x="LMARGIN", new_y="NEXT")
        return
    with pdf.table(col_widths=tuple(widths), line_height=4.5, first_row_as_headings=True) as table:
        for row in [head, *rows]:
            cells = table.row()
            for value in row:
                cells.cell(value)
    pdf.ln(2)


def _image(pdf: FPDF, png: bytes, alt: str) -> None:
    pdf.image(io.BytesIO(png), w=pdf.epw, alt_text=alt)
    pdf.ln(2)


def _counts(report: DailyReportContent) -> tuple[list[str], list[list[str]]]:
    """By category, channel and status side by side: (label, count) column pairs."""
    c = report.complaints
    groups = [
        [(labels.text(kind, k.value), labels.number(v)) for k, v in values.items()]
        for kind, values in (
            ("categories", c.by_category),
            ("channels", c.by_channel),
            ("statuses", c.by_status),
        )
    ]
    head = [labels.text("sections", key) for key in ("by_category", "by_channel", "by_status")]
    rows = [
        [cell for group in groups for cell in (group[i] if i < len(group) else ("", ""))]
        for i in range(max(len(g) for g in groups))
    ]
    return [cell for h in head for cell in (h, labels.text("columns", "count"))], rows


# Relative column widths of the four complaint lists and the ratings (see render.sections).
WIDTHS = (
    [9, 8, 12, 7, 10, 34],
    [9, 13, 12, 45],
    [9, 13, 12, 10, 10, 30],
    [9, 13, 12, 10, 35],
    [40, 20, 20],
)


def to_pdf(report: DailyReportContent) -> bytes:
    pdf = _document(report)
    charts = all_charts(report)
    _heading(pdf, labels.text("report", "title"), 15)
    pdf.set_font(FONT, "", 10)
    for line in (
        labels.text("report", "subtitle", date=labels.long_date(report.date)),
        labels.text("report", "generated", at=labels.local_time(report.generated_at)),
    ):
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, labels.text("sections", "calls"))
    head = [labels.text("columns", "name"), labels.text("columns", "value")]
    _table(pdf, head, [list(pair) for pair in labels.headline(report)], [3, 1])
    _heading(pdf, labels.text("sections", "busiest"), 11)
    busy = [
        [labels.hour_span(b.start), labels.number(b.offered), labels.number(b.answered)]
        for b in report.busiest_hours
    ]
    busy_head = [labels.text("columns", "hour")] + [
        labels.text("charts", k) for k in ("offered", "answered")
    ]
    _table(pdf, busy_head, busy, [1, 1, 1])
    _image(pdf, charts["calls_per_hour"], labels.text("charts", "calls_per_hour"))
    _heading(pdf, labels.text("sections", "complaints"))
    _table(pdf, *_counts(report), [2, 1, 2, 1, 2, 1])
    _image(pdf, charts["complaints_by_category"], labels.text("charts", "by_category"))
    for (heading, columns, rows), widths in zip(sections(report), WIDTHS, strict=True):
        _heading(pdf, heading)
        _table(pdf, columns, rows, widths)
    return bytes(pdf.output())
