"""The officers' console pages: the page, its fragments (htmx) and its live stream (SSE).

Every action calls the same domain functions as the JSON API; these routes only read the
form, pick the fragment to draw, and answer in Indonesian.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sse_starlette import EventSourceResponse

from api.agents import service as queue
from api.callbacks import calling
from api.callbacks import service as callbacks
from api.callbacks.dial import CallbackDial
from api.callbacks.service import ID_PATTERN
from api.complaints.form import Fields
from api.complaints.models import TICKET_PATTERN, ComplaintCategory, get_complaint
from api.complaints.service import edit_complaint, serve_recording
from api.console import caller, officer
from api.console.filing import file_complaint
from api.core.auth import Role
from api.core.city_units import transfer_targets
from api.core.clock import utc_now
from api.core.db import SessionDep
from api.core.deps import CalendarDep, ControlDep, SettingsDep
from api.core.errors import ApiError, NotFound
from api.events.pushes import CALLBACKS_TOPIC, agent_topic
from api.live.publish import latest_id
from api.live.sse import event_stream
from api.people import browser_phone
from api.recordings.routes import Node
from api.recordings.service import serve_call
from api.web.routes import change_roles, page_roles, stream_viewer
from api.web.session import WebUser
from api.web.templates import render
from api.web.texts import pause_reasons, texts

router = APIRouter(prefix="/console", include_in_schema=False)
# Callback outcomes shown under the list: those of the last few hours.
RECENT_OUTCOMES = timedelta(hours=8)
Officer = Annotated[WebUser, page_roles(Role.agent)]
Changing = Annotated[WebUser, change_roles(Role.agent)]
Linkedid = Annotated[str, Path(max_length=64, pattern=r"^[0-9A-Za-z._-]+$")]
Ticket = Annotated[str, Path(pattern=TICKET_PATTERN)]
CallbackId = Annotated[str, Path(pattern=ID_PATTERN, max_length=10)]


@router.get("")
def console_page(
    request: Request, session: SessionDep, settings: SettingsDep, web_user: Officer
) -> HTMLResponse:
    username = web_user.user.username
    ringing = officer.ringing_call(session, username)
    on_call = officer.current_call(session, username, settings.call_end_horizon)
    linkedid = ringing or (on_call.linkedid if on_call else None)
    panel = _panel_or_none(session, linkedid)
    return render(
        request,
        "console.html",
        web_user=web_user,
        status=officer.officer_state(session, username, settings.call_end_horizon),
        reasons=pause_reasons(),
        panel=panel,
        ringing=ringing is not None,
        form=_form_context(session, panel),
        callbacks=callbacks.list_callbacks(session),
        outcomes=_recent_outcomes(session),
        day=officer.my_day(session, username),
        browser_phone=bool(settings.webrtc_ws_url),
        transfers=transfer_targets(settings.transfer_numbers),
        categories=list(ComplaintCategory),
        # The stream starts after what this page already shows: nothing in between is lost.
        last_event_id=latest_id(session),
    )


def _panel_or_none(session: SessionDep, linkedid: str | None) -> caller.CallerPanel | None:
    if linkedid is None:
        return None
    try:
        return caller.caller_panel(session, linkedid)
    except ApiError:
        return None


def _form_context(
    session: SessionDep, panel: caller.CallerPanel | None, **extra: object
) -> dict[str, Any]:
    return {
        "complaint": panel.complaint if panel else None,
        "call": panel,
        "request_key": secrets.token_hex(16),
        "message": None,
        "error": None,
        **extra,
    }


@router.get("/status")
def status_fragment(
    request: Request, session: SessionDep, settings: SettingsDep, web_user: Officer
) -> HTMLResponse:
    state = officer.officer_state(session, web_user.user.username, settings.call_end_horizon)
    return render(request, "status.html", status=state, reasons=pause_reasons(), error=None)


QueueAction = Literal["join", "leave", "pause", "resume"]
# The state each action asks for.
_WANTED = {"join": "available", "leave": "logged_out", "pause": "paused", "resume": "available"}


@router.post("/queue/{action}")
async def queue_action(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: Changing,
    ami: ControlDep,
    action: Annotated[QueueAction, Path()],
    reason: Annotated[str, Form(max_length=64)] = "",
    device: Annotated[queue.Device, Form()] = "desk",
) -> HTMLResponse:
    """Join or leave the queue, pause with a reason from the catalog's list, resume."""
    username = web_user.user.username
    error, status_code = None, 200
    if action == "pause" and reason not in pause_reasons():
        error, status_code = texts().state.reason, 422
    else:
        try:
            await _act(action, session, web_user, ami, reason, device)
        except ApiError as exc:
            status_code = 503
            error = texts().state.no_phone if exc.status_code == 422 else texts().state.unavailable
    state = officer.officer_state(session, username, settings.call_end_horizon)
    # Asterisk took the command; its confirming event may not be stored yet, so the
    # fragment shows the state asked for until the pushed "state" redraws it.
    wanted = _WANTED[action]
    stale = state.state != wanted and (action != "resume" or state.state == "paused")
    if error is None and stale:
        state = officer.OfficerState(wanted, reason or None, None)
    return render(
        request,
        "status.html",
        status_code=status_code,
        status=state,
        reasons=pause_reasons(),
        error=error,
    )


async def _act(
    action: QueueAction,
    session: SessionDep,
    web_user: WebUser,
    ami: ControlDep,
    reason: str,
    device: queue.Device,
) -> None:
    principal = web_user.principal
    if action == "join":
        await queue.join(session, principal, ami, device)
    elif action == "leave":
        await queue.leave(session, principal, ami)
    elif action == "pause":
        await queue.pause(session, principal, ami, reason)
    else:
        await queue.resume(session, principal, ami)


@router.post("/phone/credential")
async def phone_credential(
    session: SessionDep, settings: SettingsDep, web_user: Changing, ami: ControlDep
) -> JSONResponse:
    """The browser phone's SIP account for this page: a fresh password (the previous one
    stops working), kept by the page in memory only, revoked at sign-out."""
    if not settings.webrtc_ws_url:
        raise NotFound("the browser phone is not configured")
    credential = await browser_phone.issue(session, web_user.principal, ami)
    return JSONResponse(
        {
            "ws_url": settings.webrtc_ws_url,
            "uri": f"sip:{credential.username}@{urlsplit(settings.webrtc_ws_url).hostname}",
            "username": credential.username,
            "password": credential.password,
            "ice_servers": [
                server.model_dump(exclude_none=True) for server in settings.webrtc_ice_servers
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/calls/{linkedid}")
def caller_fragment(
    request: Request, session: SessionDep, linkedid: Linkedid, web_user: Officer
) -> HTMLResponse:
    panel = caller.caller_panel(session, linkedid)
    return render(request, "caller.html", panel=panel, web_user=web_user)


@router.get("/form/{linkedid}")
def form_for_call(
    request: Request, session: SessionDep, linkedid: Linkedid, web_user: Officer
) -> HTMLResponse:
    panel = caller.caller_panel(session, linkedid)
    return render(
        request,
        "form.html",
        categories=list(ComplaintCategory),
        **_form_context(session, panel),
    )


@router.get("/form")
def blank_form(request: Request, session: SessionDep, web_user: Officer) -> HTMLResponse:
    return render(
        request, "form.html", categories=list(ComplaintCategory), **_form_context(session, None)
    )


@router.post("/complaints/{ticket}")
def save_complaint(
    request: Request,
    session: SessionDep,
    ticket: Ticket,
    web_user: Changing,
    fields: Fields,
) -> HTMLResponse:
    panel = _panel_or_none(session, fields.linkedid or None)
    try:
        edit = fields.edit()
    except ValidationError:
        complaint = get_complaint(session, ticket=ticket)
        return _form(request, session, panel, 422, complaint=complaint, error=texts().form.invalid)
    try:
        complaint = edit_complaint(session, ticket=ticket, edit=edit, principal=web_user.principal)
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        complaint = get_complaint(session, ticket=ticket)
        nothing = texts().form.nothing
        return _form(request, session, panel, 200, complaint=complaint, message=nothing)
    return _form(request, session, panel, 200, complaint=complaint, message=texts().form.saved)


@router.post("/complaints")
def new_complaint(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    web_user: Changing,
    fields: Fields,
    request_key: Annotated[str, Form(max_length=32)] = "",
    caller_number: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    panel = _panel_or_none(session, fields.linkedid or None)
    line = (panel.line if panel else None) or settings.sms_default_line
    try:
        edit = fields.edit()
        complaint, _ = file_complaint(
            session,
            principal=web_user.principal,
            calendar=calendar,
            ticket_prefix=settings.sms_ticket_prefix,
            request_key=request_key,
            caller_number=caller_number.strip() or (panel.caller if panel else "") or "",
            line=line,
            category=ComplaintCategory(fields.category),
            edit=edit,
        )
    except (ValidationError, ValueError, ApiError):
        return _form(request, session, panel, 422, complaint=None, error=texts().form.invalid)
    message = f"{texts().form.created} {complaint.ticket}."
    return _form(request, session, panel, 201, complaint=complaint, message=message)


def _form(
    request: Request,
    session: SessionDep,
    panel: caller.CallerPanel | None,
    status_code: int,
    **context: object,
) -> HTMLResponse:
    ctx = _form_context(session, panel, **context)
    return render(
        request, "form.html", status_code=status_code, categories=list(ComplaintCategory), **ctx
    )


@router.get("/recordings/{ticket}")
def recording(
    request: Request, session: SessionDep, settings: SettingsDep, ticket: Ticket, web_user: Officer
) -> Response:
    complaint = get_complaint(session, ticket=ticket)
    return serve_recording(session, request, web_user.principal, complaint, settings.recordings_dir)


@router.get("/calls/{linkedid}/recording")
def conversation_recording(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    linkedid: Linkedid,
    web_user: Officer,
    node: Node = None,
) -> Response:
    """The officer's own conversation with the caller (another officer's: 403)."""
    call = (linkedid, node)
    return serve_call(session, request, web_user.principal, call, settings.recordings_dir)


@router.get("/callbacks")
def callbacks_fragment(request: Request, session: SessionDep, web_user: Officer) -> HTMLResponse:
    return _callbacks(request, session, web_user, None)


def _callbacks(
    request: Request, session: SessionDep, web_user: WebUser, error: str | None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "callbacks.html",
        status_code=status,
        callbacks=callbacks.list_callbacks(session),
        outcomes=_recent_outcomes(session),
        error=error,
    )


def _recent_outcomes(session: SessionDep) -> list[CallbackDial]:
    return callbacks.recent_outcomes(session, utc_now() - RECENT_OUTCOMES)


@router.post("/callbacks/{callback_id}/dial")
async def dial_callback(
    request: Request,
    session: SessionDep,
    callback_id: CallbackId,
    web_user: Changing,
    ami: ControlDep,
) -> HTMLResponse:
    try:
        await calling.dial_citizen(session, web_user.principal, ami, callback_id)
    except ApiError as exc:
        return _callbacks(request, session, web_user, str(exc), exc.status_code)
    return _callbacks(request, session, web_user, None)


@router.post("/callbacks/{callback_id}/outcome")
def callback_outcome(
    request: Request,
    session: SessionDep,
    callback_id: CallbackId,
    web_user: Changing,
    outcome: Annotated[str, Form(max_length=16)] = "",
) -> HTMLResponse:
    if outcome not in ("wrong_number", "call_later"):
        return _callbacks(request, session, web_user, texts().form.invalid, 422)
    try:
        calling.record_outcome(session, web_user.principal, callback_id, outcome)  # type: ignore[arg-type]
    except ApiError as exc:
        return _callbacks(request, session, web_user, str(exc), exc.status_code)
    return _callbacks(request, session, web_user, None)


@router.get("/day")
def day_fragment(request: Request, session: SessionDep, web_user: Officer) -> HTMLResponse:
    return render(request, "day.html", day=officer.my_day(session, web_user.user.username))


@router.get("/events")
def live_events(request: Request) -> EventSourceResponse:
    """The officer's pushes (their calls and state, callback outcomes) until the session
    ends."""
    web_user, ends_at = stream_viewer(request, Role.agent)
    topics = frozenset({agent_topic(web_user.user.username), CALLBACKS_TOPIC})
    return event_stream(request, topics, ends_at)
