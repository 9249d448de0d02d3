"""Callback requests: callers who chose to be called back instead of waiting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api import callbacks as service
from api.auth import Principal, Role, require_roles
from api.callbacks import CallbackCreate, CallbackPublic
from api.db import SessionDep

router = APIRouter(prefix="/callbacks", tags=["callbacks"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_callback(
    body: CallbackCreate,
    session: SessionDep,
    response: Response,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> CallbackPublic:
    """Store a callback request from the IVR (200 with the stored one if already known)."""
    callback, created = service.create_callback(session, data=body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return CallbackPublic.model_validate(callback)


@router.get("")
def list_callbacks(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))],
    number: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CallbackPublic]:
    """List callback requests in the order callers first entered the queue."""
    rows = service.list_callbacks(session, number=number, limit=limit)
    return [CallbackPublic.model_validate(row) for row in rows]
