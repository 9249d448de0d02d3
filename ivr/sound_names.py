"""Sound names Asterisk plays for catalog prompts; numbers read one digit prompt at a time.

Asterisk has no "id" sound set for SAY DIGITS, so digits are our own catalog prompts
(``lapor/angka-0`` … ``lapor/angka-9``: nol, satu, dua, …).
"""

from __future__ import annotations

PROMPT_DIR = "lapor"


def prompt(name: str) -> str:
    """The sound file name Asterisk plays for a catalog prompt."""
    return f"{PROMPT_DIR}/{name}"


def digit_prompts(digits: str) -> list[str]:
    """One prompt per digit; anything but 0-9 is an error."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not a digit string: {digits!r}")
    return [prompt(f"angka-{d}") for d in digits]
