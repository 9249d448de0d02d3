"""Queue membership of an officer: join, leave, pause with a reason, resume.

Each action goes to Asterisk over AMI (QueueAdd, QueuePause, QueueRemove) as the API's
least-privilege control user; the collector then sees the resulting queue events, so
``/stats/live`` shows the officer's state from Asterisk itself. The JSON API and the
officers' console both act through these functions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Session

import asterisk_values as values
from api.core.ami_control import REMOVE_NOT_THERE, AmiCommandError, AmiControl, pjsip_interface
from api.core.auth import Principal
from api.core.errors import Unavailable
from api.people.browser_phone import web_endpoint
from api.people.users import phone_of

# Asterisk's answers when the member is already in the wanted state.
ALREADY = ("Already there", REMOVE_NOT_THERE)
NOT_MEMBER = "Interface not found"


def _plain_words(reason: str) -> str:
    if not values.is_free_text(reason, 64):
        raise ValueError(
            "a reason is plain words: no line breaks, control characters or any of , | $ \\ "
            '{ } [ ] ( ) " < > ;, and no leading, trailing or double spaces'
        )
    return reason


PauseReason = Annotated[str, AfterValidator(_plain_words), Field(min_length=1, max_length=64)]


class PauseRequest(BaseModel):
    reason: PauseReason


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


Device = Literal["desk", "browser"]


async def _either(
    ami: AmiControl, endpoint: str, command: Callable[[str], Awaitable[None]]
) -> None:
    """Run ``command`` for the desk phone, and for the browser phone if the desk phone is
    not in the queue (Asterisk: "Interface not found")."""
    try:
        await _run(command(endpoint))
    except Unavailable as exc:
        if NOT_MEMBER not in str(exc):
            raise
        await _run(command(web_endpoint(endpoint)))


async def join(
    session: Session, principal: Principal, ami: AmiControl, device: Device = "desk"
) -> AgentState:
    """Join the complaint queue: calls start ringing this officer's desk or browser phone."""
    username, endpoint = phone_of(session, principal)
    if device == "browser":
        endpoint = web_endpoint(endpoint)
    await _run(ami.queue_add(endpoint, username))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="logged_in")


async def leave(session: Session, principal: Principal, ami: AmiControl) -> AgentState:
    """Leave the complaint queue (from whichever phone is in it)."""
    username, endpoint = phone_of(session, principal)
    await _run(ami.queue_remove(endpoint))
    await _run(ami.queue_remove(web_endpoint(endpoint)))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="logged_out")


async def pause(session: Session, principal: Principal, ami: AmiControl, reason: str) -> AgentState:
    """Stop receiving calls for a while, with a reason supervisors see (a PauseReason)."""
    username, endpoint = phone_of(session, principal)
    await _either(ami, endpoint, lambda member: ami.queue_pause(member, True, reason))
    return AgentState(
        username=username, interface=pjsip_interface(endpoint), state="paused", reason=reason
    )


async def resume(session: Session, principal: Principal, ami: AmiControl) -> AgentState:
    """Receive calls again."""
    username, endpoint = phone_of(session, principal)
    await _either(ami, endpoint, lambda member: ami.queue_pause(member, False))
    return AgentState(username=username, interface=pjsip_interface(endpoint), state="unpaused")
