"""Listen, whisper, barge: ring the supervisor's phone, which then spies on the officer's
call (the dialplan's ``supervise`` context). The JSON API and the wallboard call here."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

import asterisk_values as values
from api.console.officer import current_call
from api.core.ami_control import AmiCommandError, AmiControl
from api.core.auth import Principal, Role
from api.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from api.events.pushes import agent_topic
from api.live.publish import publish
from api.people.users import User, phone_of
from api.supervision.log import Mode, SupervisionLog, ended, started

# How long the supervisor's phone rings before the attempt is given up.
RING_SECONDS = 20


def officer_endpoint(session: Session, officer: str) -> str:
    """The phone of the officer named ``officer`` (their queue member name), for ChanSpy."""
    user = session.exec(
        select(User).where(col(User.username) == officer, col(User.role) == Role.agent)
    ).first()
    if user is None:
        raise NotFound(f"no officer {officer[:64]!r}", "no_officer")
    if not user.extension:
        raise InvalidInput(f"officer {officer!r} has no phone extension", "no_extension")
    try:
        return values.spied_endpoint(user.extension)
    except values.UnsafeValue as exc:
        raise InvalidInput(
            f"officer {officer!r}'s phone can't be listened to: {exc} (ChanSpy needs an"
            " endpoint of letters, digits and underscores)",
            "endpoint_not_spyable",
        ) from exc


async def supervise(
    session: Session,
    principal: Principal,
    ami: AmiControl,
    officer: str,
    mode: Mode,
    *,
    horizon: timedelta,
    tell_officer: bool,
) -> SupervisionLog:
    """Ring the supervisor's phone and, once it answers, join ``officer``'s call in ``mode``.

    Conflict if the officer is not on a call now. Every attempt is logged, answered or not;
    with ``tell_officer`` the officer's console is told that a supervisor joined.
    """
    supervisor, phone = phone_of(session, principal)
    spied = officer_endpoint(session, officer)
    call = current_call(session, officer, horizon)
    if call is None:
        raise Conflict(f"officer {officer!r} is not on a call", "not_on_a_call")
    entry = started(
        session, supervisor=supervisor, officer=officer, mode=mode, linkedid=call.linkedid
    )
    try:
        # ChanSpy sees only its own Asterisk's channels: run it on the call's node.
        await ami.on_node(call.node).supervise(
            endpoint=phone,
            officer_endpoint=spied,
            mode=mode.value,
            label=f"Pantau {officer}",
            channel_id=entry.channel_id,
            ring_seconds=RING_SECONDS,
        )
    except AmiCommandError as exc:
        ended(session, entry, str(exc))
        raise Unavailable(f"the supervisor's phone was not reached: {exc}") from exc
    if tell_officer:
        publish(session, agent_topic(officer), "monitored", {"mode": mode.value})
    ended(session, entry, None)
    return entry
