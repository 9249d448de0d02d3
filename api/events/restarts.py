"""Calls that died with their node's Asterisk.

A SIGKILLed or crashed Asterisk writes nothing for the calls it dropped: no Hangup, no
queue_log outcome (docs/asterisk.md). Without help those calls stay open, and the live
view and the console show ghost callers until the call-end horizon. Asterisk tells every
AMI session how long it has been up (``FullyBooted``, at each login and when it finishes
booting), so when the collector's event arrives the API knows when the node started: any
call of the node with nothing seen since before that moment died with the previous run.
Each gets a ``LaporCallCutOff`` event (api/events/derive.py ends the call there), stored
like any other event so that deriving the call again later comes out the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.core.clock import as_utc
from api.events.bulk import EventRow
from api.events.derive import CUT_OFF, as_int
from api.events.models import Call

BOOTED = "FullyBooted"
# How far back open calls are looked for: the longest call-end horizon the API allows.
LOOK_BACK = timedelta(hours=168)


def booted_at(event: EventRow) -> datetime | None:
    """When the node's Asterisk started, from a ``FullyBooted`` event (``Uptime`` seconds
    before the event), or None if the event doesn't say."""
    uptime = as_int(event.fields.get("Uptime"))
    if uptime is None or uptime < 0:
        return None
    return as_utc(event.at) - timedelta(seconds=uptime)


def cut_off_rows(session: Session, events: Sequence[EventRow]) -> list[EventRow]:
    """A ``LaporCallCutOff`` event for each open call that a ``FullyBooted`` among
    ``events`` shows to be dead. Ids are per call, so a second report of the same boot
    (every login repeats it) stores nothing new."""
    out: list[EventRow] = []
    for event in events:
        if event.name != BOOTED or (booted := booted_at(event)) is None:
            continue
        last_seen = func.coalesce(Call.answered_at, Call.queue_entered_at, Call.arrived_at)
        open_calls = session.exec(
            select(Call.linkedid, Call.agent).where(
                Call.node == event.node,
                col(Call.ended_at).is_(None),
                last_seen < booted,
                last_seen > booted - LOOK_BACK,
            )
        ).all()
        out += [
            EventRow(
                id=f"{event.node}:cut-off:{linkedid}",
                node=event.node,
                name=CUT_OFF,
                at=booted,
                received_at=event.received_at,
                linkedid=linkedid,
                # MemberName: the officer's console hears the call ended (api/events/pushes.py).
                fields={"BootedAt": f"{booted.timestamp():.0f}", "MemberName": agent or ""},
            )
            for linkedid, agent in open_calls
        ]
    return out
