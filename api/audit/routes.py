"""The audit trails: ``GET /audit/recordings``, who played or downloaded which recording
(admins only); ``GET /audit/blocklist``, who blocked or unblocked which number."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

import asterisk_values as values
from api.audit.service import accesses, blocklist_changes
from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.numbers import national

router = APIRouter(prefix="/audit", tags=["audit"])


class AccessView(BaseModel):
    at: datetime
    username: str
    role: str
    kind: str
    subject: str
    file: str
    route: str


@router.get("/recordings")
def recording_accesses(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.admin))],
    since: datetime | None = None,
    username: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AccessView]:
    """Every playback and download of a recording (complaints' and conversations'), newest
    first: one entry per playback, not per HTTP Range request."""
    rows = accesses(session, since=since, username=username, limit=limit)
    return [AccessView.model_validate(row, from_attributes=True) for row in rows]


class BlocklistChangeView(BaseModel):
    at: datetime
    username: str
    role: str
    action: str
    number: str
    reason: str
    until: datetime | None


@router.get("/blocklist")
def blocklist_audit(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))],
    number: Annotated[str | None, Query(max_length=21, pattern=values.PHONE_NUMBER_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[BlocklistChangeView]:
    """Every block and unblock, newest first (``number`` in any spelling)."""
    rows = blocklist_changes(session, number=number and national(number), limit=limit)
    return [BlocklistChangeView.model_validate(row, from_attributes=True) for row in rows]
