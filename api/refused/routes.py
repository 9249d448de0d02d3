"""Refused complaints: the IVR hands them over, supervisors list and re-file them.

Under ``/complaints/refused``; main.py includes this router before the complaints one, so
"refused" is not read as a ticket.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.complaints import models as complaints
from api.complaints.models import ComplaintPublic, public
from api.core.ami_control import AmiCommandError
from api.core.auth import Principal, Role, require_roles
from api.core.created import created_or_known
from api.core.db import SessionDep
from api.core.deps import CalendarDep, ControlDep, SettingsDep
from api.refused import service as refused
from api.sms.commands import reply as sms_reply
from api.sms.gateways import ReplyFailed, reply_over_http
from asterisk_values import UnsafeValue

router = APIRouter(prefix="/complaints", tags=["complaints"])
RefusedId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# Who sees refused complaints: the people who phone citizens and run the line.
REFUSED_READERS = (Role.agent, Role.supervisor, Role.admin)


@router.post("/refused", status_code=status.HTTP_201_CREATED)
def hold_refused(
    body: refused.RefusedIn,
    session: SessionDep,
    response: Response,
    _: Annotated[Principal, Depends(require_roles(Role.ivr))],
) -> refused.RefusedPublic:
    """Keep a complaint the API refused (the IVR posts it with the API's answer), for a
    supervisor to re-file. 200 with the kept one if this ticket and call are known."""
    row, created = refused.hold(session, body)
    created_or_known(response, created)
    return refused.public(row)


@router.get("/refused")
def list_refused(
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(*REFUSED_READERS))],
    include_refiled: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[refused.RefusedPublic]:
    """Complaints the API refused, oldest first; by default only those not re-filed yet."""
    rows = refused.listing(session, include_refiled=include_refiled, limit=limit)
    return [refused.public(row) for row in rows]


@router.get("/refused/{refused_id}")
def get_refused(
    refused_id: RefusedId,
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(*REFUSED_READERS))],
) -> refused.RefusedPublic:
    return refused.public(refused.get(session, refused_id))


class Refiled(BaseModel):
    refused: refused.RefusedPublic
    complaint: ComplaintPublic
    notified: str  # callback | sms | sms_failed | none
    notify_error: str | None = None


@router.post("/refused/{refused_id}/refile")
async def refile_refused(
    refused_id: RefusedId,
    body: refused.RefileRequest,
    session: SessionDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    ami: ControlDep,
    principal: Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))],
) -> Refiled:
    """File a refused complaint under a fresh ticket (the API's own counter), with the
    citizen's recording, and tell the citizen: a callback request (default) or an SMS.
    409 ``already_refiled`` the second time."""
    row, ticket = await run_in_threadpool(
        refused.refile,
        session,
        refused_id,
        body,
        principal=principal,
        ticket_prefix=settings.sms_ticket_prefix,
        calendar=calendar,
    )
    notified, error = "none", None
    number = row.caller_number
    if body.notify == "callback" and number:
        await run_in_threadpool(refused.ask_callback, session, row)
        notified = "callback"
    elif body.notify == "sms" and number:
        text = sms_reply("refiled", old=row.ticket, ticket=ticket)
        try:
            if settings.sms_reply_url:
                await reply_over_http(settings, number, text)
            else:
                await ami.message_send(
                    number=number,
                    endpoint=settings.sms_sip_endpoint,
                    sender=row.line or settings.sms_default_line,
                    body=text,
                )
            notified = "sms"
        except (ReplyFailed, AmiCommandError, UnsafeValue) as exc:
            notified, error = "sms_failed", str(exc)
    await run_in_threadpool(refused.mark_notified, session, row, notified)
    complaint = complaints.get_complaint(session, ticket=ticket)
    return Refiled(
        refused=refused.public(row),
        complaint=public(complaint, principal.role),
        notified=notified,
        notify_error=error,
    )
