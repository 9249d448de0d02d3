"""How many SMS segments a text takes, and a note cut so its message fits in a budget.

A text in the GSM 03.38 alphabet takes 160 characters in one SMS, 153 per segment when
concatenated (the extension characters count twice); anything else goes as UCS-2: 70
UTF-16 code units, 67 per segment.
"""

from __future__ import annotations

from math import ceil

GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€")
# Not "…": it is outside GSM 03.38 and would turn the whole SMS into UCS-2.
ELLIPSIS = "..."


def segments(text: str) -> int:
    """The number of SMS segments ``text`` is sent as (at least 1)."""
    if all(c in GSM7 or c in GSM7_EXTENSION for c in text):
        units, single, part = len(text) + sum(c in GSM7_EXTENSION for c in text), 160, 153
    else:
        units, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else ceil(units / part)


def fitted(template: str, note: str, max_segments: int) -> str:
    """``template`` with ``{note}`` filled by as much of ``note`` as fits in
    ``max_segments``, cut at a word where possible and marked with ``...``."""
    note = " ".join(note.split())
    whole = template.replace("{note}", note)
    if segments(whole) <= max_segments:
        return whole
    low, high = 0, len(note)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if segments(template.replace("{note}", _cut(note, middle))) <= max_segments:
            low = middle
        else:
            high = middle - 1
    return template.replace("{note}", _cut(note, low))


def _cut(note: str, length: int) -> str:
    head = note[:length]
    word = head.rsplit(" ", 1)[0] if " " in head and len(head) < len(note) else head
    # Only back off to a word boundary when that keeps most of what fits.
    kept = word if len(word) >= len(head) * 3 // 4 else head
    return kept.rstrip() + ELLIPSIS
