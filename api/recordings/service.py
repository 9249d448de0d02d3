"""Find a conversation's recording, decide who may listen, serve it and log the access.

Who may listen: the officer who took the call, supervisors and admins. Not leadership
nor units: they judge complaints and figures, and a conversation holds the citizen's
voice and personal details (UU 27/2022: access only where the work needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import FileResponse
from sqlmodel import Session, col, select

from api.audit.models import RecordingKind
from api.audit.service import log_access
from api.core.auth import Principal, Role
from api.core.errors import Conflict, Forbidden, NotFound
from api.core.stored_files import stored_file
from api.events.models import Call, CallRecording
from api.events.recordings import Leg, leg_file

LISTENERS = (Role.agent, Role.supervisor, Role.admin)
# Roles that may listen to any officer's conversation.
_ANY_CALL = frozenset({Role.supervisor, Role.admin})


@dataclass(frozen=True)
class Conversation:
    """A recorded conversation, with what its call row says about it."""

    node: str
    linkedid: str
    file: str
    recorded_at: datetime
    agent: str | None
    ticket: str | None

    @property
    def subject(self) -> str:
        return f"{self.node}/{self.linkedid}"


def _query() -> sa.Select[tuple[CallRecording, Call]]:
    same_call = sa.and_(
        col(Call.node) == col(CallRecording.node), col(Call.linkedid) == col(CallRecording.linkedid)
    )
    return select(CallRecording, Call).join(Call, same_call, isouter=True)  # type: ignore[return-value]


def _conversation(recording: CallRecording, call: Call | None) -> Conversation:
    return Conversation(
        node=recording.node,
        linkedid=recording.linkedid,
        file=recording.file,
        recorded_at=recording.recorded_at,
        agent=(call.agent if call else None) or recording.agent,
        ticket=call.ticket if call else None,
    )


def find_conversation(session: Session, linkedid: str, node: str | None) -> Conversation:
    """The recording of call ``linkedid`` (on ``node``, needed only when two nodes have one)."""
    query = _query().where(col(CallRecording.linkedid) == linkedid)
    if node is not None:
        query = query.where(col(CallRecording.node) == node)
    found = session.exec(query.limit(2)).all()  # type: ignore[call-overload]
    if not found:
        raise NotFound(f"call {linkedid} has no recorded conversation", "no_recording")
    if len(found) > 1:
        raise Conflict(f"call {linkedid} is on several nodes: give node", "ambiguous_call")
    return _conversation(*found[0])


def conversations_of_ticket(session: Session, ticket: str) -> list[Conversation]:
    """The recorded conversations of the calls that carried this ticket, oldest first."""
    query = _query().where(col(Call.ticket) == ticket).order_by(col(CallRecording.recorded_at))
    return [_conversation(r, c) for r, c in session.exec(query).all()]  # type: ignore[call-overload]


def conversations_of_calls(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (node, linkedid) calls have a recorded conversation."""
    if not keys:
        return set()
    linkedids = {linkedid for _, linkedid in keys}
    rows = session.exec(
        select(CallRecording.node, CallRecording.linkedid).where(
            col(CallRecording.linkedid).in_(linkedids)
        )
    ).all()
    return {(node, linkedid) for node, linkedid in rows} & set(keys)


def may_listen(principal: Principal, conversation: Conversation) -> bool:
    if principal.role in _ANY_CALL:
        return True
    return principal.role is Role.agent and conversation.agent == principal.name


def serve_conversation(
    session: Session,
    request: Request,
    principal: Principal,
    conversation: Conversation,
    folder: Path,
    leg: Leg = Leg.both,
) -> FileResponse:
    """The recording as a WAV that supports HTTP Range, its playback logged for the admins."""
    if not may_listen(principal, conversation):
        raise Forbidden("only the officer who took this call, supervisors and admins may listen")
    name = leg_file(conversation.file, leg)
    path = stored_file(folder, name)
    if path is None:
        raise NotFound(f"the recording of call {conversation.linkedid} is not on this server")
    log_access(
        session,
        principal,
        kind=RecordingKind.conversation,
        subject=conversation.subject,
        file=path.name,
        route=request.url.path,
        range_header=request.headers.get("range"),
    )
    return FileResponse(path, media_type="audio/wav", filename=path.name)


def serve_call(
    session: Session,
    request: Request,
    principal: Principal,
    call: tuple[str, str | None],
    folder: Path,
    leg: Leg = Leg.both,
) -> FileResponse:
    """``serve_conversation`` of the call (linkedid, node or None)."""
    conversation = find_conversation(session, *call)
    return serve_conversation(session, request, principal, conversation, folder, leg)
