"""``/blocklist``: supervisors list, block and unblock numbers; the IVR looks a caller up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from api.blocklist import service
from api.blocklist.models import BlockRequest, BlockView, Number
from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep

router = APIRouter(prefix="/blocklist", tags=["blocklist"])
Supervisor = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]
Looker = Annotated[Principal, Depends(require_roles(Role.ivr, Role.supervisor, Role.admin))]
NumberPath = Annotated[Number, Path(description="Any spelling: 0812…, 62812… or +62812….")]


@router.get("")
def list_blocked(session: SessionDep, _: Supervisor) -> list[BlockView]:
    """Every blocked number, the newest first; an expired entry is listed as inactive."""
    return service.entries(session)


@router.post("", status_code=status.HTTP_201_CREATED)
def block(body: BlockRequest, session: SessionDep, who: Supervisor) -> BlockView:
    """Block a number (stored in its national form) with a reason, optionally until a
    time; audited. 409 if it is already blocked, 422 for an ``until`` in the past."""
    return service.block(session, who, body)


@router.get("/{number}")
def blocked(number: NumberPath, session: SessionDep, _: Looker) -> BlockView:
    """The entry blocking this caller now; 404 when the number is not blocked (or the
    entry expired)."""
    return service.blocking(session, number)


@router.delete("/{number}")
def unblock(number: NumberPath, session: SessionDep, who: Supervisor) -> BlockView:
    """Unblock a number (the entry as it was is returned); audited. 404 if not listed."""
    return service.unblock(session, who, number)
