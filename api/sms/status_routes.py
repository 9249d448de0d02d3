"""Status SMS for the back office: what is waiting, what failed (and one more try)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from api.complaints.models import TICKET_PATTERN
from api.core.auth import Principal, Role, require_roles
from api.core.clock import utc_now
from api.core.db import SessionDep
from api.sms.status_messages import SmsState, StatusSms, listed, retry

router = APIRouter(prefix="/sms/status-messages", tags=["sms"])
ReaderDep = Annotated[Principal, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
SupervisorDep = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]
UNSENT = [SmsState.pending, SmsState.sending, SmsState.failed]


class StatusSmsPublic(BaseModel):
    id: int
    ticket: str
    to_status: str
    number: str
    text: str
    state: SmsState
    reason: str | None
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("")
def list_status_sms(
    session: SessionDep,
    _: ReaderDep,
    state: Annotated[list[SmsState] | None, Query(max_length=5)] = None,
    ticket: Annotated[str | None, Query(pattern=TICKET_PATTERN, max_length=8)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[StatusSmsPublic]:
    """SMS telling citizens of their complaint's status, newest first: by default those
    not sent yet (pending, sending, failed); ``state`` (repeatable) picks others."""
    rows = listed(session, states=state or UNSENT, ticket=ticket, limit=limit)
    return [_public(row) for row in rows]


@router.post("/{message_id}/retry")
def retry_status_sms(
    session: SessionDep,
    _: SupervisorDep,
    message_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> StatusSmsPublic:
    """Send a failed status SMS again (409 unless it failed)."""
    return _public(retry(session, message_id, utc_now()))


def _public(row: StatusSms) -> StatusSmsPublic:
    return StatusSmsPublic.model_validate(row, from_attributes=True)
