"""The screen pop: who is calling, what the IVR took, and everything the city knows of them.

History is looked up under every spelling of the caller's number (0812…, 62812…,
+62812…), across channels: calls, complaints by phone and SMS, and callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, or_, select

from api.callbacks.dial import CallbackDial
from api.complaints.models import Complaint
from api.core.clock import as_utc
from api.core.errors import NotFound
from api.core.numbers import spellings
from api.events.models import Call
from api.recordings.service import conversations_of_calls

HISTORY_LIMIT = 30


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    channel: str  # call | phone | sms | callback (a catalog key of [history])
    what: str  # a catalog key: answered, abandoned…, or a complaint category
    ticket: str | None = None
    status: str | None = None
    # A call whose conversation was recorded: its node and linkedid, and its officer.
    recording: tuple[str, str] | None = None
    agent: str | None = None


@dataclass(frozen=True)
class CallerPanel:
    linkedid: str
    node: str
    caller: str | None
    caller_name: str | None
    line: str | None
    path: str  # complaint | agent (a catalog key of [paths])
    complaint: Complaint | None
    answered_at: datetime | None
    ended_at: datetime | None
    agent: str | None = None
    recorded: bool = False
    history: list[HistoryItem] = field(default_factory=list)


def find_call(session: Session, linkedid: str) -> Call:
    call = session.exec(
        select(Call).where(Call.linkedid == linkedid).order_by(col(Call.id).desc())
    ).first()
    if call is None:
        raise NotFound(f"no call {linkedid}", "call_not_found")
    return call


def caller_panel(session: Session, linkedid: str) -> CallerPanel:
    call = find_call(session, linkedid)
    complaint = (
        session.exec(select(Complaint).where(Complaint.ticket == call.ticket)).first()
        if call.ticket
        else None
    )
    return CallerPanel(
        linkedid=call.linkedid,
        node=call.node,
        caller=call.caller,
        caller_name=call.caller_name,
        line=call.line,
        path="complaint" if call.ticket else "agent",
        complaint=complaint,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        agent=call.agent,
        recorded=bool(conversations_of_calls(session, [(call.node, call.linkedid)])),
        history=history(session, call.caller, exclude_call=call.id, exclude_ticket=call.ticket)
        if call.caller
        else [],
    )


def history(
    session: Session,
    number: str,
    *,
    exclude_call: int | None = None,
    exclude_ticket: str | None = None,
    limit: int = HISTORY_LIMIT,
) -> list[HistoryItem]:
    """The caller's earlier contacts, newest first, under every spelling of their number."""
    forms = spellings(number)
    items: list[HistoryItem] = []
    calls = session.exec(
        select(Call)
        .where(col(Call.caller).in_(forms), col(Call.id) != (exclude_call or -1))
        .order_by(col(Call.arrived_at).desc())
        .limit(limit)
    ).all()
    recorded = conversations_of_calls(session, [(c.node, c.linkedid) for c in calls])
    for call in calls:
        at = call.arrived_at or call.queue_entered_at or call.answered_at
        key = (call.node, call.linkedid)
        if at is not None:
            items.append(
                HistoryItem(
                    as_utc(at),
                    "call",
                    _call_what(call),
                    call.ticket,
                    recording=key if key in recorded else None,
                    agent=call.agent,
                )
            )
    complaints = session.exec(
        select(Complaint)
        .where(col(Complaint.caller_number).in_(forms))
        .where(or_(exclude_ticket is None, Complaint.ticket != (exclude_ticket or "")))
        .order_by(col(Complaint.taken_at).desc())
        .limit(limit)
    ).all()
    for c in complaints:
        items.append(
            HistoryItem(as_utc(c.taken_at), c.channel.value, c.category.value, c.ticket, c.status)
        )
    dials = session.exec(
        select(CallbackDial)
        .where(col(CallbackDial.number).in_(forms), col(CallbackDial.dialled_at).is_not(None))
        .order_by(col(CallbackDial.dialled_at).desc())
        .limit(limit)
    ).all()
    for d in dials:
        assert d.dialled_at is not None
        items.append(HistoryItem(as_utc(d.dialled_at), "callback", d.outcome or "dialling"))
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


# A call's outcome as the history names it (a key of the catalog's [history]).
_WHAT = {
    "answered": "answered",
    "abandoned": "abandoned",
    "short_abandoned": "abandoned",
    "exit_timeout": "timeout",
    "callback_requested": "callback",
    "ivr_only": "ivr_only",
    "cut_off": "cut_off",
}


def _call_what(call: Call) -> str:
    return _WHAT.get(call.outcome or "", "in_progress")
