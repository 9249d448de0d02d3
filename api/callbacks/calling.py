"""Calling a citizen back from an officer's phone, and outcomes only the officer knows.

The JSON API (``POST /callbacks/{id}/dial``) and the officers' console both call here.
"""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session

from api.callbacks import dial as dialling
from api.callbacks import service
from api.callbacks.service import CallbackItem
from api.core.ami_control import AmiCommandError, AmiControl
from api.core.auth import Principal
from api.core.errors import Conflict, InvalidInput, Unavailable
from api.people.users import phone_of

# How long the officer's phone rings before the attempt is given up (no attempt counted).
AGENT_RING_SECONDS = 30
# How long the citizen's phone rings (the dialplan's Dial timeout).
CITIZEN_RING_SECONDS = 40
CONTEXT = "callback"
ManualOutcome = Literal["wrong_number", "call_later"]


async def dial_citizen(
    session: Session, principal: Principal, ami: AmiControl, callback_id: str
) -> CallbackItem:
    username, endpoint = phone_of(session, principal)
    item = service.get_callback(session, callback_id)
    if item.outcome == dialling.REACHED:
        raise Conflict("this citizen was already reached", "already_reached")
    if not service.dialable(item.number):
        raise InvalidInput(f"the number {item.number[:40]!r} can't be dialled", "not_dialable")
    channel_id = dialling.claim(
        session, callback_id=callback_id, number=item.number, agent=username
    )
    line = item.line or ""
    try:
        await ami.originate(
            endpoint=endpoint,
            context=CONTEXT,
            number=item.number,
            caller_label=f"Callback {item.ticket or item.id}",
            channel_id=channel_id,
            variables={
                "LAPOR_CALLBACK": callback_id,
                # An unusable line (from an old record) falls back to the main line.
                "LAPOR_CALLBACK_LINE": line if service.usable_line(line) else "",
                "LAPOR_CALLBACK_RING": str(CITIZEN_RING_SECONDS),
            },
            ring_seconds=AGENT_RING_SECONDS,
        )
    except AmiCommandError as exc:
        dialling.release(session, callback_id, channel_id)
        raise Unavailable(f"the officer's phone was not reached: {exc}") from exc
    dialling.dialled(session, callback_id, channel_id)
    return service.get_callback(session, callback_id)


def record_outcome(
    session: Session, principal: Principal, callback_id: str, outcome: ManualOutcome
) -> CallbackItem:
    """Record what the dialplan can't know: a wrong number (the callback is closed) or a
    citizen who asked to be called later (it stays on the list, marked)."""
    username, _ = phone_of(session, principal)
    item = service.get_callback(session, callback_id)
    if item.outcome == dialling.REACHED:
        raise Conflict("this citizen was already reached", "already_reached")
    dialling.set_manual_outcome(session, callback_id, item.number, outcome, username)
    return service.get_callback(session, callback_id)
