"""Text from outside made storable."""

from __future__ import annotations


def without_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL: each becomes U+FFFD, the mark of an unreadable
    character, so that one never costs a caller's call record or a citizen's SMS."""
    return text.replace("\x00", "\ufffd")
