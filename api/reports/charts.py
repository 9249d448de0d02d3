"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend (no display)."""

from __future__ import annotations

import io
from typing import Literal

from matplotlib.axes import Axes
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


def _counts_from_zero(axes: Axes, axis: Literal["x", "y"]) -> None:
    """Counts start at 0 and the axis reaches at least 1: a day without calls or
    complaints draws 0..1, not matplotlib's -0.055..0.055 around nothing."""
    high = (axes.get_ylim() if axis == "y" else axes.get_xlim())[1]
    limits = (0.0, max(float(high), 1.0))
    if axis == "y":
        axes.set_ylim(limits)
    else:
        axes.set_xlim(limits)


def calls_per_hour_figure(report: DailyReportContent) -> Figure:
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
    _counts_from_zero(axes, "y")
    axes.legend(loc="upper left", fontsize=8)
    return figure


def complaints_by_category_figure(report: DailyReportContent) -> Figure:
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
    _counts_from_zero(axes, "x")
    for y, value in enumerate(values[::-1]):
        axes.annotate(
            str(value), (value, y), xytext=(3, 0), textcoords="offset points", va="center"
        )
    return figure


def calls_per_hour(report: DailyReportContent) -> bytes:
    return _png(calls_per_hour_figure(report))


def complaints_by_category(report: DailyReportContent) -> bytes:
    return _png(complaints_by_category_figure(report))


def all_charts(report: DailyReportContent) -> dict[str, bytes]:
    """Every chart by name: ``calls_per_hour`` and ``complaints_by_category``."""
    return {
        "calls_per_hour": calls_per_hour(report),
        "complaints_by_category": complaints_by_category(report),
    }
