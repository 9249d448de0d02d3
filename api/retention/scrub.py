"""Taking the citizen's number and name out of raw AMI events and queue_log lines.

Keys are dropped rather than blanked: call derivation reads a missing caller id as "no
number" (a blank one would come back as an empty caller), so a call derived again from
scrubbed events keeps every figure and has no caller.
"""

from __future__ import annotations

import re
from typing import Any

# Caller id and connected line of either channel (CallerIDNum, DestConnectedLineName, …).
_PERSONAL_KEY = re.compile(r"(CallerID|ConnectedLine)(Num|Name)?$")
# Free text that holds the number dialled back or the number on a callback leg.
_FREE_TEXT = frozenset({"DialString", "AppData", "DestAppData"})
# Channel variables whose value is a citizen's number (the callback dialplan's).
_PERSONAL_VARIABLE = re.compile(r"NUMBER|CALLBACK_TO|CALLERID", re.IGNORECASE)
# queue_log: time|callid|queue|agent|verb|data1|data2…; ENTERQUEUE's data2 is the caller id.
_ENTERQUEUE_CALLER = 6


def scrub_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event's fields without the citizen's number or name (nested lists and
    objects too: a queue snapshot's entries)."""
    personal_variable = isinstance(fields.get("Variable"), str) and bool(
        _PERSONAL_VARIABLE.search(fields["Variable"])
    )
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if _PERSONAL_KEY.search(key) or key in _FREE_TEXT:
            continue
        if key == "Value" and personal_variable:
            continue
        clean[key] = _scrub_value(value)
    return clean


def _scrub_value(value: Any) -> Any:
    if isinstance(value, dict):
        return scrub_fields(value)
    if isinstance(value, list):
        return [_scrub_value(item) for item in value]
    return value


def scrub_queue_log(text: str | None) -> str | None:
    """The call's queue_log lines with ENTERQUEUE's caller id emptied."""
    if not text:
        return text
    lines = []
    for line in text.split("\n"):
        parts = line.split("|")
        if len(parts) > _ENTERQUEUE_CALLER and parts[4] == "ENTERQUEUE":
            parts[_ENTERQUEUE_CALLER] = ""
        lines.append("|".join(parts))
    return "\n".join(lines)
