"""The report as CSV and as a self-contained HTML page (charts inline as data: URIs).

Complaint text is citizen input: the HTML escapes every value and forbids scripts with a
Content-Security-Policy, and CSV cells that a spreadsheet would run as a formula are
quoted with a leading apostrophe.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Sequence
from html import escape

from api.reports import labels
from api.reports.charts import all_charts
from api.reports.schemas import DailyReportContent
from api.stats.schemas import Summary

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSV_COLUMNS = (
    "section",
    "name",
    "value",
    "ticket",
    "category",
    "channel",
    "status",
    "unit",
    "time",
    "summary",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell that no spreadsheet evaluates as a formula."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _csv_rows(report: DailyReportContent) -> Iterable[Sequence[object]]:
    for key in Summary.model_fields:
        yield ("calls", key, getattr(report.calls, key))
    for bucket in report.calls_per_hour:
        yield ("calls_per_hour", labels.hour_span(bucket.start), bucket.offered)
    for busy in report.busiest_hours:
        yield ("busiest_hours", labels.hour_span(busy.start), busy.offered)
    c = report.complaints
    yield ("complaints", "total", c.total)
    for group, values in (
        ("by_category", c.by_category),
        ("by_channel", c.by_channel),
        ("by_status", c.by_status),
    ):
        for name, count in values.items():
            yield (f"complaints.{group}", name.value, count)
    for section, lines in (
        ("new_complaints", report.new_complaints),
        ("forwarded", report.forwarded),
    ):
        for x in lines:
            yield (section, "", "", x.ticket, x.category.value, x.channel.value, x.status.value,
                   "", labels.local_time(x.taken_at), x.summary)  # fmt: skip
    for o in report.overdue:
        yield ("overdue", "", "", o.ticket, o.category.value, "", o.status.value, o.unit,
               labels.local_time(o.due_at), o.summary)  # fmt: skip
    for d in report.follow_ups_completed:
        yield ("follow_ups_completed", "", "", d.ticket, d.category.value, "", "selesai", d.unit,
               labels.local_time(d.done_at), d.note)  # fmt: skip
    if report.survey is not None:
        yield ("survey", "ratings", report.survey.total.ratings)
        yield ("survey", "average", report.survey.total.average)
        for a in report.survey.by_agent:
            yield ("survey.ratings", a.agent, a.ratings)
            yield ("survey.average", a.agent, a.average)


def to_csv(report: DailyReportContent) -> str:
    """One table: figures fill section/name/value; complaint rows fill the other columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([labels.text("columns", name) for name in CSV_COLUMNS])
    for row in _csv_rows(report):
        cells = [safe_cell(v) for v in row]
        writer.writerow(cells + [""] * (len(CSV_COLUMNS) - len(cells)))
    return out.getvalue()


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return f"<p class='none'>{escape(labels.text('report', 'none'))}</p>"
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _col(*names: str) -> list[str]:
    return [labels.text("columns", n) for n in names]


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img src='data:image/png;base64,{data}' alt='{escape(alt)}'></figure>"


def _h(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _counts_html(report: DailyReportContent) -> str:
    c = report.complaints
    parts = []
    for key, values, kind, column in (
        ("by_category", c.by_category, "categories", "category"),
        ("by_channel", c.by_channel, "channels", "channel"),
        ("by_status", c.by_status, "statuses", "status"),
    ):
        rows = [[labels.text(kind, k.value), labels.number(v)] for k, v in values.items()]
        table = _table(_col(column, "count"), rows)
        parts.append(f"<div>{_h('h3', labels.text('sections', key))}{table}</div>")
    return "<div class='columns'>" + "".join(parts) + "</div>"


def sections(report: DailyReportContent) -> list[tuple[str, list[str], list[list[str]]]]:
    """The complaint lists and the callers' ratings per officer as (heading, column labels,
    rows), shared by HTML and PDF."""
    cat, st = "categories", "statuses"
    return [
        (
            labels.text("sections", "new"),
            _col("ticket", "taken_at", "category", "channel", "status", "summary"),
            [
                [x.ticket, labels.local_time(x.taken_at, with_date=False),
                 labels.text(cat, x.category.value), labels.text("channels", x.channel.value),
                 labels.text(st, x.status.value), x.summary]
                for x in report.new_complaints
            ],
        ),
        (
            labels.text("sections", "forwarded"),
            _col("ticket", "taken_at", "category", "summary"),
            [
                [x.ticket, labels.local_time(x.taken_at), labels.text(cat, x.category.value),
                 x.summary]
                for x in report.forwarded
            ],
        ),
        (
            labels.text("sections", "overdue"),
            _col("ticket", "due_at", "category", "status", "unit", "summary"),
            [
                [x.ticket, labels.local_time(x.due_at), labels.text(cat, x.category.value),
                 labels.text(st, x.status.value), x.unit or labels.DASH, x.summary]
                for x in report.overdue
            ],
        ),
        (
            labels.text("sections", "follow_ups"),
            _col("ticket", "done_at", "category", "unit", "note"),
            [
                [x.ticket, labels.local_time(x.done_at), labels.text(cat, x.category.value),
                 x.unit or labels.DASH, x.note]
                for x in report.follow_ups_completed
            ],
        ),
        (
            labels.text("sections", "survey"),
            _col("officer", "ratings", "average"),
            [
                [a.agent, labels.number(a.ratings), labels.number(a.average, 2)]
                for a in (report.survey.by_agent if report.survey else [])
            ],
        ),
    ]  # fmt: skip


STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 60em;
       color: #1a202c; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #2b6cb0; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #cbd5e0; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #ebf4ff; } td.num { text-align: right; }
.columns { display: flex; gap: 2em; flex-wrap: wrap; } .meta { color: #4a5568; }
figure { margin: 0.5em 0; } img { max-width: 100%; }
"""


def to_html(report: DailyReportContent) -> str:
    charts = all_charts(report)
    title = labels.text("report", "title")
    day = labels.text("report", "day", date=report.date.isoformat())
    made = labels.text("report", "generated", at=labels.local_time(report.generated_at))
    busy_columns = [*_col("hour"), *(labels.text("charts", k) for k in ("offered", "answered"))]
    busy = [
        [labels.hour_span(b.start), labels.number(b.offered), labels.number(b.answered)]
        for b in report.busiest_hours
    ]
    parts = [
        _h("h1", title),
        _h("p", labels.text("report", "subtitle", date=labels.long_date(report.date))),
        f"<p class='meta'>{escape(day)} · {escape(made)}</p>",
        _h("h2", labels.text("sections", "calls")),
        _table(_col("name", "value"), [list(pair) for pair in labels.headline(report)]),
        _h("h3", labels.text("sections", "busiest")),
        _table(busy_columns, busy),
        _img(charts["calls_per_hour"], labels.text("charts", "calls_per_hour")),
        _h("h2", labels.text("sections", "complaints")),
        _counts_html(report),
        _img(charts["complaints_by_category"], labels.text("charts", "by_category")),
    ]
    for heading, columns, rows in sections(report):
        parts += [_h("h2", heading), _table(columns, rows)]
    return (
        "<!DOCTYPE html>\n<html lang='id'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<title>{escape(title)} {report.date.isoformat()}</title>"
        f"<style>{STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>\n"
    )
