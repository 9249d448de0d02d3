"""``POST /queue-log/{node}``: a collector's reconcile, queue_log lines it read itself.

AMI keeps nothing for a listener that is not connected, so after every (re)login the
collector sends the lines its node's queue_log gained meanwhile: an Asterisk restart or
a collector outage then needs no operator running ``lapor reconcile``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.collectors.service import MAX_NODE
from api.core.auth import Principal, Role, require_roles
from api.events.hourly import thresholds
from api.queue_log import import_received

router = APIRouter(prefix="/queue-log", tags=["events"])
MAX_LINES = 2000
# A queue_log line is a few hundred bytes at most (callerid, url and data fields).
MAX_LINE = 2048


class QueueLogLines(BaseModel):
    lines: list[Annotated[str, Field(max_length=MAX_LINE)]] = Field(
        min_length=1, max_length=MAX_LINES, description="queue_log lines, as in the file."
    )


class QueueLogResult(BaseModel):
    accepted: int = Field(description="Lines stored for the first time.")
    duplicates: int = Field(description="Lines stored before (by AMI or an earlier send).")
    malformed: int = Field(description="Lines that are not queue_log lines; not stored.")


@router.post("/{node}")
def post_queue_log(
    node: Annotated[
        str, Path(min_length=1, max_length=MAX_NODE, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    ],
    body: QueueLogLines,
    request: Request,
    _: Annotated[Principal, Depends(require_roles(Role.collector))],
) -> QueueLogResult:
    """Store a node's queue_log lines idempotently and derive the calls they belong to."""
    summary = import_received(
        request.app.state.engine, body.lines, node=node, thresholds=thresholds(request)
    )
    return QueueLogResult(
        accepted=summary.accepted, duplicates=summary.duplicates, malformed=summary.malformed
    )
