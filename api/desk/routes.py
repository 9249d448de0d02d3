"""The complaints desk pages: the board by LAPOR! status, one complaint with its audit trail
and the moves the signed-in role may make, and the latest daily report.

Every action is a plain form POST (CSRF-checked) calling the same domain functions as the
JSON API, then back to the complaint's page; a refused one shows the page again with the
reason in Indonesian.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.audit.service import accesses
from api.complaints.attachments import Upload, attachment_response, attachments_of
from api.complaints.closing import attaching
from api.complaints.form import Fields
from api.complaints.models import SEES_NUMBERS, TICKET_PATTERN, ComplaintCategory, public
from api.complaints.search import ComplaintFilter, overdue_by_status, search
from api.complaints.service import (
    StatusChange,
    change_status,
    edit_complaint,
    history_of,
    serve_recording,
    unit_scope,
    visible_complaint,
)
from api.complaints.workflow import ComplaintStatus
from api.core.auth import Role
from api.core.city_units import city_units
from api.core.clock import utc_now
from api.core.db import SessionDep
from api.core.deps import CalendarDep, SettingsDep
from api.core.errors import ApiError, Forbidden, NotFound
from api.desk.actions import EDITORS, actions_for, refusal
from api.recordings.routes import Linkedid, Node
from api.recordings.service import conversations_of_ticket, serve_call
from api.reports import service as reports
from api.reports.files import Format, report_response
from api.reports.labels import headline
from api.sms.status_messages import of_ticket as status_sms_of
from api.web.routes import PageRefused, change_roles, page_roles
from api.web.session import WebUser
from api.web.templates import render
from api.web.texts import texts

router = APIRouter(prefix="/desk", include_in_schema=False)
DESK_ROLES = (Role.supervisor, Role.admin, Role.leadership, Role.unit)
REPORT_ROLES = (Role.supervisor, Role.admin, Role.leadership)
# Cards shown per status column (the column's heading gives the full count).
CARDS_PER_STATUS = 50
Reader = Annotated[WebUser, page_roles(*DESK_ROLES)]
Mover = Annotated[WebUser, change_roles(*DESK_ROLES)]
Editor = Annotated[WebUser, change_roles(*EDITORS)]
ReportReader = Annotated[WebUser, page_roles(*REPORT_ROLES)]
Ticket = Annotated[str, Path(pattern=TICKET_PATTERN)]
# The officer who took a call listens in the console; on the desk, supervisors and admins.
CONVERSATION_LISTENERS = (Role.supervisor, Role.admin)
Listener = Annotated[WebUser, page_roles(*CONVERSATION_LISTENERS)]
Admin = Annotated[WebUser, page_roles(Role.admin)]
AUDIT_ROWS = 500
Choice = Annotated[str, Query(max_length=32)]


def _scope(session: SessionDep, web_user: WebUser) -> str | None:
    try:
        return unit_scope(session, web_user.principal)
    except Forbidden:
        raise PageRefused(texts().desk_errors.no_unit) from None


@router.get("")
def board(
    request: Request,
    session: SessionDep,
    web_user: Reader,
    status: Choice = "",
    category: Choice = "",
    text: Annotated[str, Query(max_length=200)] = "",
    unit: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """Complaints by status, newest first in each, the overdue ones marked and counted."""
    scope = _scope(session, web_user)
    asked = {"status": status, "category": category, "text": text.strip(), "unit": unit}
    error = None
    try:
        filters = ComplaintFilter.model_validate({k: v for k, v in asked.items() if v})
    except ValidationError:
        filters, error = ComplaintFilter(), texts().desk_errors.bad_filter
    if scope is not None:
        filters.unit = scope
    role = web_user.principal.role
    shown = [filters.status] if filters.status else list(ComplaintStatus)
    columns = []
    for column in shown:
        rows, page = search(
            session, filters.model_copy(update={"status": column}), limit=CARDS_PER_STATUS
        )
        columns.append((column, page.total, [public(row, role) for row in rows]))
    return render(
        request,
        "desk_board.html",
        status_code=422 if error else 200,
        web_user=web_user,
        columns=columns,
        late=overdue_by_status(session, filters, utc_now()),
        asked=asked,
        error=error,
        categories=list(ComplaintCategory),
        units=city_units() if scope is None else {},
    )


def _complaint_page(
    request: Request,
    session: SessionDep,
    web_user: WebUser,
    ticket: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        complaint = visible_complaint(session, ticket, web_user.principal)
    except Forbidden:
        raise PageRefused(texts().desk_errors.no_unit) from None
    except NotFound:
        return render(request, "error.html", status_code=404, message=texts().errors.not_found)
    role = web_user.principal.role
    settings = request.app.state.settings
    files = attachments_of(session, complaint)
    return render(
        request,
        "desk_complaint.html",
        status_code=status_code,
        web_user=web_user,
        complaint=public(complaint, role),
        history=history_of(session, complaint),
        attachments=files,
        max_files=settings.attachments_max_count,
        max_mib=settings.attachment_max_bytes / (1 << 20),
        actions=actions_for(complaint.status, role),
        units=city_units(),
        categories=list(ComplaintCategory),
        error=error,
        sees_numbers=role in SEES_NUMBERS,
        status_sms=status_sms_of(session, complaint.ticket),
        conversations=conversations_of_ticket(session, complaint.ticket)
        if role in CONVERSATION_LISTENERS
        else [],
    )


@router.get("/complaints/{ticket}")
def complaint_page(
    request: Request, session: SessionDep, web_user: Reader, ticket: Ticket
) -> HTMLResponse:
    return _complaint_page(request, session, web_user, ticket)


async def attached_files(request: Request) -> list[Upload]:
    """The closing form's files (a file input left empty sends a part without a file name,
    which is no file)."""
    form = await request.form()
    return [
        Upload(one.filename, one.file)
        for one in form.getlist("attachments")
        if isinstance(one, UploadFile) and one.filename
    ]


@router.get("/complaints/{ticket}/recording")
def complaint_recording(
    request: Request, session: SessionDep, settings: SettingsDep, web_user: Reader, ticket: Ticket
) -> Response:
    """The citizen's recorded complaint, to whoever may see the complaint (logged)."""
    complaint = visible_complaint(session, ticket, web_user.principal)
    return serve_recording(session, request, web_user.principal, complaint, settings.recordings_dir)


@router.get("/calls/{linkedid}/recording")
def conversation_recording(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: Listener,
    linkedid: Linkedid,
    node: Node = None,
) -> Response:
    """A recorded officer-citizen conversation: supervisors and admins (logged)."""
    call = (linkedid, node)
    return serve_call(session, request, web_user.principal, call, settings.recordings_dir)


def _back_to(ticket: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/complaints/{ticket}", status_code=303)


@router.post("/complaints/{ticket}/status")
def move(
    request: Request,
    session: SessionDep,
    calendar: CalendarDep,
    settings: SettingsDep,
    web_user: Mover,
    ticket: Ticket,
    uploads: Annotated[list[Upload], Depends(attached_files)],
    to: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    unit: Annotated[str, Form(max_length=100)] = "",
    duplicate_of: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Verify, report, reject (or mark a duplicate), order a follow-up, or close (with
    photos or documents attached: kept with the closing, or neither)."""
    try:
        change = StatusChange(
            to=ComplaintStatus(to),
            note=note.strip(),
            unit=unit or None,
            duplicate_of=duplicate_of.strip() or None,
        )
    except (ValueError, ValidationError):
        message = texts().desk_errors.invalid
        return _complaint_page(request, session, web_user, ticket, error=message, status_code=422)
    try:
        change_status(
            session,
            ticket=ticket,
            change=change,
            principal=web_user.principal,
            calendar=calendar,
            own_unit=_scope(session, web_user),
            finish=attaching(session, uploads, settings),
        )
    except ApiError as exc:
        session.rollback()
        message = refusal(exc, change.to)
        return _complaint_page(
            request, session, web_user, ticket, error=message, status_code=exc.status_code
        )
    return _back_to(ticket)


@router.get("/complaints/{ticket}/attachments/{attachment_id}")
def attachment(
    session: SessionDep,
    settings: SettingsDep,
    web_user: Reader,
    ticket: Ticket,
    attachment_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """An attachment's file, for whoever may open the complaint's page."""
    try:
        complaint = visible_complaint(session, ticket, web_user.principal)
        return attachment_response(session, complaint, attachment_id, settings.attachments_dir)
    except Forbidden:
        raise PageRefused(texts().desk_errors.no_unit) from None
    except NotFound:
        return Response(texts().errors.not_found, status_code=404, media_type="text/plain")


@router.post("/complaints/{ticket}/edit")
def edit(
    request: Request, session: SessionDep, web_user: Editor, ticket: Ticket, fields: Fields
) -> Response:
    """Correct the category, location or summary (with an optional note for the trail)."""
    try:
        edit_complaint(session, ticket=ticket, edit=fields.edit(), principal=web_user.principal)
    except (ValidationError, ApiError) as exc:
        session.rollback()
        status_code = exc.status_code if isinstance(exc, ApiError) else 422
        message = texts().desk_errors.invalid
        return _complaint_page(
            request, session, web_user, ticket, error=message, status_code=status_code
        )
    return _back_to(ticket)


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, web_user: Admin) -> HTMLResponse:
    """Who played or downloaded which recording, newest first (admins)."""
    rows = accesses(session, since=None, username=None, limit=AUDIT_ROWS)
    return render(request, "desk_audit.html", web_user=web_user, accesses=rows)


@router.get("/report")
def report_page(request: Request, session: SessionDep, web_user: ReportReader) -> HTMLResponse:
    """The latest daily report: its headline figures and links to the HTML and the PDF."""
    report = reports.latest(session)
    return render(
        request,
        "desk_report.html",
        web_user=web_user,
        report=report,
        figures=headline(reports.load(report)) if report else [],
    )


@router.get("/report/{day}.{fmt}")
def report_file(
    session: SessionDep,
    web_user: ReportReader,
    day: date,
    fmt: Annotated[Format, Path()],
) -> Response:
    """A stored report as HTML or PDF, for a signed-in reader (the API's needs a token)."""
    if fmt not in (Format.html, Format.pdf):
        raise PageRefused(texts().errors.not_found)
    try:
        return report_response(session, day, fmt)
    except NotFound:
        return Response(texts().errors.not_found, status_code=404, media_type="text/plain")
