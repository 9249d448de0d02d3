"""The desk's blocklist page (supervisors and admins): the blocked numbers, a form to
block one, an unblock button per entry, and the latest blocks and unblocks. The forms call
the same service as ``/blocklist``; a refused one shows the page again with the reason."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.audit.service import blocklist_changes
from api.blocklist import service
from api.blocklist.models import REASON_LIMIT, BlockRequest, normalised_number
from api.core.auth import Role
from api.core.clock import JAKARTA
from api.core.db import SessionDep
from api.core.errors import ApiError, Conflict, InvalidInput
from api.web.routes import change_roles, page_roles
from api.web.session import WebUser
from api.web.templates import render
from api.web.texts import texts

router = APIRouter(prefix="/desk/blocklist", include_in_schema=False)
BLOCKERS = (Role.supervisor, Role.admin)
Viewer = Annotated[WebUser, page_roles(*BLOCKERS)]
Blocker = Annotated[WebUser, change_roles(*BLOCKERS)]
AUDIT_ROWS = 50
PAGE = "/desk/blocklist"


def _page(
    request: Request, session: SessionDep, web_user: WebUser, error: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "desk_blocklist.html",
        status_code=status,
        web_user=web_user,
        entries=service.entries(session),
        changes=blocklist_changes(session, number=None, limit=AUDIT_ROWS),
        reason_limit=REASON_LIMIT,
        error=error,
    )


@router.get("")
def blocklist_page(request: Request, session: SessionDep, web_user: Viewer) -> HTMLResponse:
    """The blocked numbers and the form to block one."""
    return _page(request, session, web_user)


def until_end_of(day: date | None) -> datetime | None:
    """A block "until" a day lasts to the end of that day in Bandar Lampung (WIB)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(), JAKARTA)


@router.post("")
def block(
    request: Request,
    session: SessionDep,
    web_user: Blocker,
    number: Annotated[str, Form(max_length=32)] = "",
    reason: Annotated[str, Form(max_length=REASON_LIMIT * 2)] = "",
    until: Annotated[date | None, Form()] = None,
) -> Response:
    """Block a number (optionally until the end of a day)."""
    errors = texts().blocklist_errors
    try:
        wanted = BlockRequest(number=number, reason=reason, until=until_end_of(until))
        service.block(session, web_user.principal, wanted)
    except ValidationError:
        return _page(request, session, web_user, errors.invalid, 422)
    except (Conflict, InvalidInput) as exc:
        session.rollback()
        message = errors.get(exc.error_id, errors.invalid)
        return _page(request, session, web_user, message, exc.status_code)
    return RedirectResponse(PAGE, status_code=303)


@router.post("/unblock")
def unblock(
    request: Request,
    session: SessionDep,
    web_user: Blocker,
    number: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Unblock a number."""
    try:
        service.unblock(session, web_user.principal, normalised_number(number.strip()))
    except (ValueError, ApiError):
        session.rollback()
        return _page(request, session, web_user, texts().blocklist_errors.not_blocked, 404)
    return RedirectResponse(PAGE, status_code=303)
