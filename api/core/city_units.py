"""The city units that follow complaints up, from the catalog (api/catalog/units.id.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import asterisk_values
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


@dataclass(frozen=True)
class TransferTarget:
    unit: str
    name: str
    number: str


def transfer_targets(setting: str) -> list[TransferTarget]:
    """The units officers may transfer a caller to, from ``LAPOR_API_TRANSFER_NUMBERS``
    (``unit=number,...``, the value Asterisk's dialplan allowlists), in setting order.

    Raises ``ValueError`` for a malformed entry or a unit the catalog doesn't have."""
    numbers = asterisk_values.transfer_numbers(setting)
    unknown = [unit for unit in numbers if unit not in city_units()]
    if unknown:
        raise ValueError(f"unknown units in the transfer numbers: {', '.join(unknown)}")
    return [TransferTarget(unit, city_units()[unit], number) for unit, number in numbers.items()]
