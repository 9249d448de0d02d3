"""One citizen, however their number was written: 0812…, 62812… and +62812… are one person.

Carriers and gateways hand us Indonesian numbers in all three forms (and SIP gives some
without the leading zero), so a caller's history is looked up under every form.
"""

from __future__ import annotations

import re

COUNTRY = "62"
_DIGITS = re.compile(r"\+?\d{4,20}")


def national(number: str) -> str:
    """``number`` in the national form (0812…) when it is an Indonesian one, else as given."""
    if not _DIGITS.fullmatch(number):
        return number
    digits = number.lstrip("+")
    if number.startswith("+") or (digits.startswith(COUNTRY) and len(digits) >= 10):
        if digits.startswith(COUNTRY):
            return "0" + digits[len(COUNTRY) :]
        return number
    if digits.startswith("8") and 9 <= len(digits) <= 13:
        return "0" + digits
    return digits


def spellings(number: str) -> list[str]:
    """Every form the same Indonesian number may be stored under (itself included)."""
    local = national(number)
    if not local.startswith("0") or not _DIGITS.fullmatch(local):
        return [number]
    rest = local[1:]
    return sorted({number, local, COUNTRY + rest, "+" + COUNTRY + rest, rest})


def pretty(number: str | None) -> str:
    """The number as Indonesians write it: 0812-3456-7890 (a short one as it is)."""
    if not number:
        return ""
    local = national(number)
    if not local.startswith("08") or len(local) < 10:
        return local
    return f"{local[:4]}-{local[4:8]}-{local[8:]}"
