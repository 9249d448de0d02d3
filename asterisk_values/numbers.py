"""One citizen, however their number was written: 0812…, 62812… and +62812… are one person.

Carriers and gateways hand us Indonesian numbers in all three forms (and SIP gives some
without the leading zero). Every number is stored in its national form (``national``) as
it comes in, by the IVR and the API alike: this is the one normalisation both use. Rows
stored before that are read under every form (``spellings``).
"""

from __future__ import annotations

import re

__all__ = ["COUNTRY", "national", "spellings"]

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
