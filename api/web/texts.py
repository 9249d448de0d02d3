"""The pages' words, from the catalog ``api/catalog/console.id.toml`` (Bahasa Indonesia)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "console.id.toml"


class Section(dict[str, str]):
    """One catalog table; ``t.state.paused`` in a template. A missing key is a bug: it
    fails loudly instead of showing an empty label."""

    def __getattr__(self, key: str) -> str:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no text {key!r} in the page catalog") from None


class Texts(dict[str, Section]):
    def __getattr__(self, key: str) -> Section:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no section {key!r} in the page catalog") from None


@cache
def texts() -> Texts:
    data: dict[str, Any] = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    return Texts({name: Section(table) for name, table in data.items()})


def pause_reasons() -> dict[str, str]:
    """The pause reasons officers pick from: value (sent to Asterisk) to label."""
    return dict(texts().pause_reasons)
