"""``POST /supervision``: listen to, whisper to or join an officer's call; and the log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.core.auth import Principal, Role, require_roles
from api.core.clock import as_utc
from api.core.db import SessionDep
from api.core.deps import ControlDep, SettingsDep
from api.supervision import log
from api.supervision.service import supervise

router = APIRouter(prefix="/supervision", tags=["supervision"])
SUPERVISING_ROLES = (Role.supervisor, Role.admin)
Supervisor = Annotated[Principal, Depends(require_roles(*SUPERVISING_ROLES))]


class SuperviseRequest(BaseModel):
    officer: str = Field(
        min_length=1, max_length=64, pattern=log.OFFICER_PATTERN, description="Username."
    )
    mode: log.Mode


class LogEntry(BaseModel):
    id: int
    at: datetime
    supervisor: str
    officer: str
    mode: str
    linkedid: str | None
    outcome: str
    error: str | None


def _entry(row: log.SupervisionLog) -> LogEntry:
    assert row.id is not None
    return LogEntry(
        id=row.id,
        at=as_utc(row.at),
        supervisor=row.supervisor,
        officer=row.officer,
        mode=row.mode,
        linkedid=row.linkedid,
        outcome=row.outcome,
        error=row.error,
    )


@router.post("")
async def start_supervision(
    body: SuperviseRequest,
    session: SessionDep,
    settings: SettingsDep,
    ami: ControlDep,
    principal: Supervisor,
) -> LogEntry:
    """Ring your own phone; once you answer, you are in the officer's call as ``mode``:
    ``listen`` (you hear both, nobody hears you), ``whisper`` (only the officer hears
    you) or ``barge`` (both do). Ends when you hang up or the call ends.

    404 for an unknown officer, 409 if they are not on a call, 422 if you or they have
    no usable phone, 503 if your phone did not answer. Every attempt is logged.
    """
    entry = await supervise(
        session,
        principal,
        ami,
        body.officer,
        body.mode,
        horizon=settings.call_end_horizon,
        tell_officer=settings.supervision_tell_officer,
    )
    return _entry(entry)


@router.get("/log")
def supervision_log(
    session: SessionDep,
    _: Supervisor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LogEntry]:
    """Who listened to whom, when and how, newest first."""
    return [_entry(row) for row in log.entries(session, limit)]
