"""The agents' console: an officer logs into the queue, pauses with a reason, logs out.

Each action goes to Asterisk over AMI (QueueAdd, QueuePause, QueueRemove) as the API's
least-privilege control user; the collector then sees the resulting queue events, so
``/stats/live`` shows the officer's state from Asterisk itself.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import col, select

import asterisk_values as values
from api.complaints.lines import line_of
from api.complaints.models import Complaint
from api.core.ami_control import AmiCommandError, pjsip_interface
from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.deps import ControlDep, SettingsDep
from api.core.errors import NotFound, Unavailable
from api.events.models import Call
from api.people.users import phone_of

router = APIRouter(prefix="/agents", tags=["agents"])
AgentDep = Annotated[Principal, Depends(require_roles(Role.agent))]
# Asterisk's answers when the member is already in the wanted state.
ALREADY = ("Already there", "Not there")


def _plain_words(reason: str) -> str:
    if not values.is_free_text(reason, 64):
        raise ValueError(
            "a reason is plain words: no line breaks, control characters or any of , | $ \\ "
            '{ } [ ] ( ) " < > ;, and no leading, trailing or double spaces'
        )
    return reason


class PauseRequest(BaseModel):
    reason: Annotated[str, AfterValidator(_plain_words)] = Field(min_length=1, max_length=64)


class AgentState(BaseModel):
    username: str
    interface: str
    state: Literal["logged_in", "logged_out", "paused", "unpaused"]
    reason: str | None = None


async def _run(command: Awaitable[None]) -> None:
    try:
        await command
    except AmiCommandError as exc:
        if not any(text in str(exc) for text in ALREADY):
            raise Unavailable(f"Asterisk did not take the command: {exc}") from exc


@router.post("/me/login")
async def log_into_queue(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Join the complaint queue: calls start ringing this officer's phone."""
    username, endpoint = phone_of(session, principal)
    await _run(ami.queue_add(endpoint, username))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="logged_in")


@router.post("/me/logout")
async def log_out_of_queue(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Leave the complaint queue."""
    username, endpoint = phone_of(session, principal)
    await _run(ami.queue_remove(endpoint))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="logged_out")


@router.post("/me/pause")
async def pause(
    body: PauseRequest, session: SessionDep, principal: AgentDep, ami: ControlDep
) -> AgentState:
    """Stop receiving calls for a while, with a reason supervisors see."""
    username, endpoint = phone_of(session, principal)
    await _run(ami.queue_pause(endpoint, True, body.reason))
    return AgentState(
        username=username, interface=pjsip_interface(endpoint), state="paused", reason=body.reason
    )


@router.post("/me/unpause")
async def unpause(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Receive calls again."""
    username, endpoint = phone_of(session, principal)
    await _run(ami.queue_pause(endpoint, False))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="unpaused")


EARLIER_TICKETS = 20


class TicketSummary(BaseModel):
    ticket: str
    category: str
    status: str
    taken_at: datetime


class CurrentCall(BaseModel):
    caller: str | None
    caller_name: str | None
    line: str | None
    answered_at: datetime
    ticket: TicketSummary | None
    earlier: list[TicketSummary]


@router.get("/me/current-call")
def current_call(session: SessionDep, settings: SettingsDep, principal: AgentDep) -> CurrentCall:
    """The screen pop: who is on the line, the ticket the IVR just made, their earlier tickets."""
    username, _ = phone_of(session, principal)
    since = datetime.now(UTC) - settings.call_end_horizon
    call = session.exec(
        select(Call)
        .where(Call.agent == username, col(Call.answered_at) >= since, col(Call.ended_at).is_(None))
        .order_by(col(Call.answered_at).desc())
    ).first()
    if call is None or call.answered_at is None:
        raise NotFound("no call in progress for this officer", "no_current_call")
    current = (
        session.exec(select(Complaint).where(Complaint.ticket == call.ticket)).first()
        if call.ticket
        else None
    )
    earlier = session.exec(
        select(Complaint)
        .where(Complaint.caller_number == call.caller, Complaint.ticket != (call.ticket or ""))
        .order_by(col(Complaint.taken_at).desc())
        .limit(EARLIER_TICKETS)
    ).all()
    return CurrentCall(
        caller=call.caller,
        caller_name=call.caller_name,
        line=call.line,
        answered_at=call.answered_at,
        ticket=line_of(current, TicketSummary) if current else None,
        earlier=[line_of(c, TicketSummary) for c in earlier],
    )
