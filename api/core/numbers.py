"""Citizens' numbers on the API's side: the one normalisation (``asterisk_values.numbers``,
shared with the IVR) and how the pages write a number.
"""

from __future__ import annotations

from asterisk_values.numbers import COUNTRY, national, spellings

__all__ = ["COUNTRY", "national", "pretty", "spellings"]


def pretty(number: str | None) -> str:
    """The number as Indonesians write it: 0812-3456-7890 (a short one as it is)."""
    if not number:
        return ""
    local = national(number)
    if not local.startswith("08") or len(local) < 10:
        return local
    return f"{local[:4]}-{local[4:8]}-{local[8:]}"
