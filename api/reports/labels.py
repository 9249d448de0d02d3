"""The report's Bahasa Indonesia labels (from ``api/catalog/report.id.toml``) and formats."""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from api.core.clock import JAKARTA
from api.reports.schemas import DailyReportContent

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "report.id.toml"
DASH = "\u2013"  # en dash: no value


@cache
def catalog() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return data


def text(section: str, key: str, **values: object) -> str:
    """A label from the catalog with its {placeholders} filled."""
    label: str = catalog()[section][key]
    return label.format(**values)


def number(value: float | None, decimals: int = 0) -> str:
    """Indonesian digits: 1.234,5 (dot groups thousands, comma marks decimals)."""
    if value is None:
        return DASH
    raw = f"{value:,.{decimals}f}"
    return raw.replace(",", "_").replace(".", ",").replace("_", ".")


def long_date(day: date) -> str:
    """E.g. "Jumat, 27 November 2026"."""
    cal = catalog()["calendar"]
    return f"{cal['days'][day.weekday()]}, {day.day} {cal['months'][day.month - 1]} {day.year}"


def local_time(at: datetime, with_date: bool = True) -> str:
    """Wall time in Asia/Jakarta, e.g. "27-11-2026 10.05" (or "10.05")."""
    local = at.astimezone(JAKARTA)
    return local.strftime("%d-%m-%Y %H.%M" if with_date else "%H.%M")


def hour_span(start: datetime) -> str:
    """An hour bucket as "10.00-11.00" (with an en dash)."""
    hour = start.astimezone(JAKARTA).hour
    return f"{hour:02d}.00{DASH}{(hour + 1) % 24:02d}.00"


def seconds(value: float | None) -> str:
    return DASH if value is None else text("figures", "seconds", value=number(value, 1))


def percent(value: float | None) -> str:
    return DASH if value is None else text("figures", "percent", value=number(value, 1))


def headline(content: DailyReportContent) -> list[tuple[str, str]]:
    """The figures the mayor reads first, as (label, value)."""
    c = content.calls
    return [
        (text("figures", "offered"), number(c.offered)),
        (text("figures", "answered"), number(c.answered)),
        (text("figures", "abandoned"), number(c.abandoned)),
        (
            text("figures", "short_abandoned", seconds=c.short_abandon_seconds),
            number(c.short_abandoned),
        ),
        (text("figures", "abandon_rate_pct"), percent(c.abandon_rate_pct)),
        (text("figures", "sl_pct", seconds=c.service_level_seconds), percent(c.sl_pct)),
        (text("figures", "asa_seconds"), seconds(c.asa_seconds)),
        (text("figures", "aht_seconds"), seconds(c.aht_seconds)),
        (text("figures", "max_wait"), seconds(c.max_wait)),
        (text("figures", "urgent"), number(c.urgent)),
        (text("figures", "complaints_total"), number(content.complaints.total)),
        *survey_headline(content),
    ]


def survey_headline(content: DailyReportContent) -> list[tuple[str, str]]:
    """How many callers rated their call, and the average (none before the survey)."""
    if content.survey is None:
        return []
    total = content.survey.total
    return [
        (text("figures", "survey_ratings"), number(total.ratings)),
        (text("figures", "survey_average"), number(total.average, 2)),
    ]
