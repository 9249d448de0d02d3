"""The conversations' recordings, as the dialplan reports them (``LaporRecording``).

asterisk_conf/extensions.conf records each queue call with MixMonitor into
``call-<linkedid>.wav`` (both parties mixed) and ``call-<linkedid>-citizen.wav`` /
``-officer.wav`` (each party alone), and sends the UserEvent once an officer took the call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from api.core.db import conflict_insert
from api.events.bulk import EventRow
from api.events.models import CallRecording, fit, text_widths

USER_EVENT = "LaporRecording"
# Only a name of this form is kept, whatever an event carried: the file is served from the
# recordings folder by this name.
FILE = re.compile(r"call-[0-9A-Za-z_-][0-9A-Za-z_.-]{0,63}\.wav")
_WIDTHS = text_widths(CallRecording)


class Leg(StrEnum):
    """Which audio of a conversation: both parties mixed, or one party alone."""

    both = "both"
    citizen = "citizen"
    officer = "officer"


def leg_file(file: str, leg: Leg) -> str:
    """The file holding ``leg`` of the conversation recorded as ``file``."""
    return file if leg is Leg.both else f"{file.removesuffix('.wav')}-{leg.value}.wav"


def recording_row(event: EventRow) -> dict[str, Any] | None:
    """The ``call_recording`` row a stored event reports, or None."""
    f = event.fields
    if event.name != "UserEvent" or f.get("UserEvent") != USER_EVENT or not event.linkedid:
        return None
    file = str(f.get("File") or "")
    if not FILE.fullmatch(file) or len(file) > _WIDTHS["file"]:
        return None
    return {
        "node": event.node,
        "linkedid": event.linkedid,
        "file": file,
        "agent": fit(str(f.get("Agent") or "") or None, _WIDTHS["agent"]),
        "recorded_at": event.at,
    }


def store_recordings(session: Session, events: Sequence[EventRow]) -> None:
    """Keep the recordings these new events report (a duplicate changes nothing)."""
    rows = {(r["node"], r["linkedid"]): r for e in events if (r := recording_row(e))}
    if rows:
        stmt = conflict_insert(session, CallRecording).on_conflict_do_nothing(
            index_elements=["node", "linkedid"]
        )
        session.connection().execute(stmt, [rows[key] for key in sorted(rows)])
