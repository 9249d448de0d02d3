"""/retention/runs (the purge log) and /citizens/{number} (export, erase, the audit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.core.deps import SettingsDep
from api.retention import citizens, purge
from api.retention.citizens import NUMBER_PATTERN, CitizenExport
from api.retention.models import CitizenRequest, RetentionRun

router = APIRouter(tags=["retention"])
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Number = Annotated[str, Path(pattern=NUMBER_PATTERN, max_length=21)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/retention/runs")
def runs(session: SessionDep, _: Admin, limit: Limit = 50) -> list[RetentionRun]:
    """The latest purges, newest first: when, up to which instants, how many of each."""
    return purge.recent(session, limit)


@router.get("/citizens/requests")
def requests(session: SessionDep, _: Admin, limit: Limit = 50) -> list[CitizenRequest]:
    """The audit of exports and erasures, newest first (numbers masked)."""
    return citizens.requests(session, limit)


@router.get("/citizens/{number}/export")
def export(number: Number, session: SessionDep, who: Admin) -> CitizenExport:
    """Everything held about the citizen under any spelling of the number (audited)."""
    return citizens.export(session, number, who)


@router.post("/citizens/{number}/erase")
def erase(number: Number, session: SessionDep, settings: SettingsDep, who: Admin) -> dict[str, int]:
    """Anonymise the citizen everywhere and delete their recordings (audited); their
    complaints stay, without number or recording. Rows changed, by holder."""
    return citizens.erase(session, number, who, settings.recordings_dir)
