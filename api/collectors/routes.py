"""Collectors report on themselves; supervisors and admins read the reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from api.collectors import service
from api.core.auth import Principal, Role, require_roles
from api.core.clock import as_utc, utc_now
from api.core.db import SessionDep
from api.core.deps import SettingsDep
from api.core.errors import NotFound
from api.events.pushes import SUPERVISORS_TOPIC
from api.live.publish import publish

router = APIRouter(prefix="/collectors", tags=["collectors"])
Node = Annotated[
    str,
    Path(
        min_length=1,
        max_length=service.MAX_NODE,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="The collector's LAPOR_COLLECTOR_NODE.",
    ),
]


class StatusReport(BaseModel):
    ami_connected: bool = Field(description="Whether the AMI session to Asterisk is up.")
    ami_state_seconds: float = Field(
        ge=0, le=10 * 365 * 86400, description="How long it has been up (or down)."
    )
    buffered: int = Field(ge=0, le=2**31 - 1, description="Events waiting in the disk buffer.")


class CollectorView(BaseModel):
    node: str
    reported_at: datetime
    ami_connected: bool
    ami_since: datetime
    buffered: int
    silent: bool = Field(description="No report within LAPOR_API_COLLECTOR_SILENT_SECONDS.")


@router.put("/{node}", status_code=status.HTTP_204_NO_CONTENT)
def report(
    node: Node,
    body: StatusReport,
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require_roles(Role.collector))],
) -> Response:
    """A collector's report on itself, every few seconds."""
    silent_after = timedelta(seconds=settings.collector_silent_seconds)
    as_reported = service.Report(body.ami_connected, body.ami_state_seconds, body.buffered)
    if service.record(session, node, as_reported, utc_now(), silent_after):
        publish(session, SUPERVISORS_TOPIC, "changed", {})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("")
def list_collectors(
    session: SessionDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))],
) -> list[CollectorView]:
    """Every collector that ever reported, with whether it has gone silent."""
    now, silent_after = utc_now(), timedelta(seconds=settings.collector_silent_seconds)
    return [
        CollectorView(
            node=s.node,
            reported_at=as_utc(s.reported_at),
            ami_connected=s.ami_connected,
            ami_since=as_utc(s.ami_since),
            buffered=s.buffered,
            silent=service.is_silent(s, now, silent_after),
        )
        for s in service.statuses(session)
    ]


@router.delete("/{node}", status_code=status.HTTP_204_NO_CONTENT)
def retire(
    node: Node,
    session: SessionDep,
    _: Annotated[Principal, Depends(require_roles(Role.admin))],
) -> Response:
    """Forget a collector that was taken out of service (its outage stops showing)."""
    if not service.forget(session, node):
        raise NotFound(f"no collector {node!r} has reported", "no_collector")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
