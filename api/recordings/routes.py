"""``GET /calls/{linkedid}/recording``: a recorded conversation, to whom may listen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse

from api.core.auth import Principal, require_roles
from api.core.db import SessionDep
from api.core.deps import SettingsDep
from api.events.recordings import Leg
from api.recordings.service import LISTENERS, serve_call

router = APIRouter(prefix="/calls", tags=["recordings"])
LINKEDID_PATTERN = r"^[0-9A-Za-z_-][0-9A-Za-z._-]*$"
Linkedid = Annotated[str, Path(max_length=64, pattern=LINKEDID_PATTERN)]
NODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Node = Annotated[str | None, Query(max_length=64, pattern=NODE_PATTERN)]


@router.get("/{linkedid}/recording", response_class=FileResponse)
def conversation_recording(
    linkedid: Linkedid,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_roles(*LISTENERS))],
    node: Node = None,
    leg: Annotated[Leg, Query(description="both parties mixed, or one alone")] = Leg.both,
) -> FileResponse:
    """The officer-citizen conversation (WAV, HTTP Range for seeking): the officer who took
    the call, supervisors and admins. Each playback or download is logged (``/audit``)."""
    call = (linkedid, node)
    return serve_call(session, request, principal, call, settings.recordings_dir, leg)
