"""The agents' console: an officer logs into the queue, pauses with a reason, logs out.

Each action goes to Asterisk over AMI (QueueAdd, QueuePause, QueueRemove) as the API's
least-privilege control user; the collector then sees the resulting queue events, so
``/stats/live`` shows the officer's state from Asterisk itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import col, select

from api.agents import service
from api.agents.service import AgentState, PauseRequest
from api.complaints.lines import line_of
from api.complaints.models import Complaint
from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.deps import ControlDep, SettingsDep
from api.core.errors import NotFound
from api.events.models import Call
from api.people.users import phone_of

router = APIRouter(prefix="/agents", tags=["agents"])
AgentDep = Annotated[Principal, Depends(require_roles(Role.agent))]


@router.post("/me/login")
async def log_into_queue(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Join the complaint queue: calls start ringing this officer's phone."""
    return await service.join(session, principal, ami)


@router.post("/me/logout")
async def log_out_of_queue(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Leave the complaint queue."""
    return await service.leave(session, principal, ami)


@router.post("/me/pause")
async def pause(
    body: PauseRequest, session: SessionDep, principal: AgentDep, ami: ControlDep
) -> AgentState:
    """Stop receiving calls for a while, with a reason supervisors see."""
    return await service.pause(session, principal, ami, body.reason)


@router.post("/me/unpause")
async def unpause(session: SessionDep, principal: AgentDep, ami: ControlDep) -> AgentState:
    """Receive calls again."""
    return await service.resume(session, principal, ami)


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
