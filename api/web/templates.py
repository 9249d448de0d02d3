"""Jinja2 for the pages: autoescape on, the catalog as ``t``, Indonesian formats as filters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.core.clock import JAKARTA, as_utc
from api.core.numbers import pretty
from api.web.texts import texts

TEMPLATES = Path(__file__).resolve().parent.parent
# The packages with page templates (api/<name>/templates).
PAGES = ("web", "console", "wallboard", "desk")
# What a page shows for "no value" (an en dash).
NONE = "\u2013"


def wib(at: datetime | None, pattern: str = "%d/%m/%Y %H.%M") -> str:
    """A time as Indonesians read it, in WIB (Asia/Jakarta): 29/11/2026 14.05."""
    return as_utc(at).astimezone(JAKARTA).strftime(pattern) if at else NONE


def duration(seconds: float | int | None) -> str:
    """Seconds as h:mm:ss or m:ss."""
    if seconds is None:
        return NONE
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def number_id(value: float | int | None, decimals: int = 0) -> str:
    """A number with Indonesian separators: 1.234 and 95,5."""
    if value is None:
        return NONE
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(
            [
                TEMPLATES / "web" / "templates",
                TEMPLATES / "console" / "templates",
                TEMPLATES / "wallboard" / "templates",
                TEMPLATES / "desk" / "templates",
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(wib=wib, duration=duration, number_id=number_id, phone=pretty)
    env.globals["t"] = texts()
    return env


ENVIRONMENT = _environment()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page or fragment ``name`` rendered with ``context`` (and ``request``)."""
    html = ENVIRONMENT.get_template(name).render(request=request, **context)
    response = HTMLResponse(html, status_code=status_code)
    # Pages show personal data: never kept in shared caches or the browser's back cache.
    response.headers["Cache-Control"] = "no-store"
    return response
