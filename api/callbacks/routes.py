"""Callbacks: the IVR's requests and abandoned calls, and officers calling them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.callbacks import dial as dialling
from api.callbacks import service
from api.callbacks.service import ID_PATTERN, CallbackCreate, CallbackItem, CallbackPublic
from api.core.ami_control import AmiCommandError
from api.core.auth import Principal, Role, require_roles
from api.core.created import created_or_known
from api.core.db import SessionDep
from api.core.deps import ControlDep
from api.core.errors import Conflict, InvalidInput, Unavailable
from api.people.users import phone_of

router = APIRouter(prefix="/callbacks", tags=["callbacks"])
ReaderDep = Annotated[Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
CallbackId = Annotated[
    str, Path(pattern=ID_PATTERN, max_length=10, description="r<request> or c<abandoned call>")
]
# How long the officer's phone rings before the attempt is given up (no attempt counted).
AGENT_RING_SECONDS = 30
# How long the citizen's phone rings (the dialplan's Dial timeout).
CITIZEN_RING_SECONDS = 40
CONTEXT = "callback"


@router.post("", status_code=status.HTTP_201_CREATED)
def create_callback(
    body: CallbackCreate,
    session: SessionDep,
    response: Response,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> CallbackPublic:
    """Store a callback request from the IVR (200 with the stored one if already known)."""
    callback, created = service.create_callback(session, data=body)
    created_or_known(response, created)
    return CallbackPublic.model_validate(callback)


@router.get("")
def list_callbacks(
    session: SessionDep,
    _: ReaderDep,
    number: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CallbackItem]:
    """Citizens to call back, oldest queue entry first: IVR requests and abandoned calls
    whose caller nobody has reached since (no answered call, no successful callback)."""
    return service.list_callbacks(session, number=number, limit=limit)


@router.get("/{callback_id}")
def get_callback(session: SessionDep, _: ReaderDep, callback_id: CallbackId) -> CallbackItem:
    """One callback with its attempts and the latest attempt's outcome."""
    return service.get_callback(session, callback_id)


@router.post("/{callback_id}/dial")
async def dial_callback(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(Role.agent))],
    ami: ControlDep,
    callback_id: CallbackId,
) -> CallbackItem:
    """Call the citizen back: ring the officer's phone first, then the citizen's.

    Returns once the officer answered and the citizen is being dialled (one attempt);
    the outcome (reached, no_answer, busy) shows on the callback when the call ends.
    409 if another officer has it or the citizen was already reached; 503 if the
    officer's phone did not answer or Asterisk is unreachable.
    """
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
