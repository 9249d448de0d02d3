"""Text from outside made storable, and values as JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping

import orjson


def without_nul(text: str) -> str:
    """PostgreSQL text cannot hold NUL: each becomes U+FFFD, the mark of an unreadable
    character, so that one never costs a caller's call record or a citizen's SMS."""
    return text.replace("\x00", "\ufffd")


def json_text(value: Mapping[str, object]) -> str:
    """``value`` as compact JSON text. orjson is about ten times faster than json (0.4
    against 4.4 µs for an AgentComplete's fields, every event pays it twice: in the
    collector's buffer and in the API's COPY); json takes what orjson refuses (a lone
    surrogate)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
