"""Callbacks: the IVR's requests and abandoned calls, and officers calling them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.callbacks import service
from api.callbacks.calling import dial_citizen
from api.callbacks.service import ID_PATTERN, CallbackCreate, CallbackItem, CallbackPublic
from api.core.auth import Principal, Role, require_roles
from api.core.created import created_or_known
from api.core.db import SessionDep
from api.core.deps import ControlDep

router = APIRouter(prefix="/callbacks", tags=["callbacks"])
ReaderDep = Annotated[Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
CallbackId = Annotated[
    str, Path(pattern=ID_PATTERN, max_length=10, description="r<request> or c<abandoned call>")
]


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
    return await dial_citizen(session, principal, ami, callback_id)
