"""The city units that follow complaints up, from the catalog (api/catalog/units.id.toml)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from api.core.errors import InvalidInput

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "units.id.toml"


@cache
def city_units() -> dict[str, str]:
    """Unit id -> the unit's name, in catalog order."""
    with CATALOG.open("rb") as handle:
        units: dict[str, str] = tomllib.load(handle)["units"]
    return units


def check_unit(unit: str) -> str:
    """Return ``unit`` if the city has it; otherwise a 422 naming the known ones."""
    if unit not in city_units():
        raise InvalidInput(
            f"unknown unit {unit!r}; known units: {', '.join(city_units())}", "unknown_unit"
        )
    return unit
