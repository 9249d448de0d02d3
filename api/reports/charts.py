"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from api.complaints.models import ComplaintCategory
from api.core.clock import JAKARTA
from api.reports import labels
from api.reports.schemas import DailyReportContent

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BLUE, GREEN = "#2b6cb0", "#38a169"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def calls_per_hour(report: DailyReportContent) -> bytes:
    """Calls offered and answered in each of the day's 24 hours (WIB)."""
    offered, answered = [0] * 24, [0] * 24
    for bucket in report.calls_per_hour:
        hour = bucket.start.astimezone(JAKARTA).hour
        offered[hour], answered[hour] = bucket.offered, bucket.answered
    figure = Figure(figsize=(8, 3.2), layout="constrained")
    axes = figure.add_subplot()
    hours = list(range(24))
    axes.bar(hours, offered, color=BLUE, label=labels.text("charts", "offered"))
    axes.bar(hours, answered, width=0.5, color=GREEN, label=labels.text("charts", "answered"))
    axes.set_title(labels.text("charts", "calls_per_hour"))
    axes.set_xlabel(labels.text("charts", "hour_axis"))
    axes.set_ylabel(labels.text("charts", "count_axis"))
    axes.set_xticks(hours, [f"{h:02d}" for h in hours], fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", fontsize=8)
    return _png(figure)


def complaints_by_category(report: DailyReportContent) -> bytes:
    """The day's new complaints per category."""
    categories = list(ComplaintCategory)
    values = [report.complaints.by_category.get(c, 0) for c in categories]
    names = [labels.text("categories", c.value) for c in categories]
    figure = Figure(figsize=(8, 2.8), layout="constrained")
    axes = figure.add_subplot()
    axes.barh(names[::-1], values[::-1], color=BLUE)
    axes.set_title(labels.text("charts", "by_category"))
    axes.set_xlabel(labels.text("charts", "count_axis"))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, value in enumerate(values[::-1]):
        axes.annotate(
            str(value), (value, y), xytext=(3, 0), textcoords="offset points", va="center"
        )
    return _png(figure)


def all_charts(report: DailyReportContent) -> dict[str, bytes]:
    """Every chart by name: ``calls_per_hour`` and ``complaints_by_category``."""
    return {
        "calls_per_hour": calls_per_hour(report),
        "complaints_by_category": complaints_by_category(report),
    }
