"""The wallboard page, its board fragment and its live stream (supervisors and admins).

The board is redrawn when ingest pushes "changed" on the ``supervisors`` topic (at most
about once a second per API process) and every few seconds anyway, so waits keep
ticking and a quiet queue still shows how fresh its data is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse
from sse_starlette import EventSourceResponse

from api.core.auth import Role
from api.core.db import SessionDep
from api.core.deps import ControlDep, SettingsDep
from api.core.errors import ApiError
from api.events.hourly import thresholds
from api.events.pushes import SUPERVISORS_TOPIC
from api.live.publish import latest_id
from api.live.sse import event_stream
from api.supervision.log import OFFICER_PATTERN, Mode
from api.supervision.service import supervise
from api.wallboard.board import Board, board
from api.wallboard.calls import DRILL_LIMIT, by_hour, todays_calls
from api.web.routes import change_roles, page_roles, stream_viewer
from api.web.session import WebUser
from api.web.templates import render

router = APIRouter(prefix="/wallboard", include_in_schema=False)
WALLBOARD_ROLES = (Role.supervisor, Role.admin)
Supervisor = Annotated[WebUser, page_roles(*WALLBOARD_ROLES)]
Supervising = Annotated[WebUser, change_roles(*WALLBOARD_ROLES)]


def _board(request: Request, session: SessionDep, settings: SettingsDep) -> Board:
    return board(
        session,
        thresholds(request),
        settings.call_end_horizon,
        settings.service_level_target_pct,
        timedelta(seconds=settings.collector_silent_seconds),
    )


@router.get("")
def wallboard_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: Supervisor,
    tv: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    return render(
        request,
        "wallboard.html",
        web_user=web_user,
        board=_board(request, session, settings),
        hours=by_hour(session),
        tv=tv,
        last_event_id=latest_id(session),
    )


@router.get("/board")
def board_fragment(
    request: Request, session: SessionDep, settings: SettingsDep, web_user: Supervisor
) -> HTMLResponse:
    return render(
        request, "board.html", board=_board(request, session, settings), hours=by_hour(session)
    )


@router.get("/calls/{figure}")
def calls_behind(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: Supervisor,
    figure: Annotated[str, Path(pattern="^(offered|answered|abandoned|short_abandoned)$")],
) -> HTMLResponse:
    """The calls behind one of today's figures."""
    t = thresholds(request)
    return render(
        request,
        "calls.html",
        web_user=web_user,
        figure=figure,
        calls=todays_calls(session, figure, t),
        limit=DRILL_LIMIT,
    )


@router.post("/supervise")
async def supervise_call(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web_user: Supervising,
    ami: ControlDep,
    officer: Annotated[str, Form(max_length=64, pattern=OFFICER_PATTERN)],
    mode: Annotated[Mode, Form()],
) -> HTMLResponse:
    """Listen to, whisper to or join an officer's call from the supervisor's own phone."""
    error, status_code = None, 200
    try:
        await supervise(
            session,
            web_user.principal,
            ami,
            officer,
            mode,
            horizon=settings.call_end_horizon,
            tell_officer=settings.supervision_tell_officer,
        )
    except ApiError as exc:
        error, status_code = exc.error_id, exc.status_code
    return render(
        request,
        "supervised.html",
        status_code=status_code,
        officer=officer,
        mode=mode.value,
        error=error,
    )


@router.get("/events")
def live_events(request: Request) -> EventSourceResponse:
    """ "Something changed" pushes until the session ends."""
    _, ends_at = stream_viewer(request, *WALLBOARD_ROLES)
    return event_stream(request, frozenset({SUPERVISORS_TOPIC}), ends_at)
