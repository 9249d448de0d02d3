"""The mayor's daily report, in JSON, CSV, HTML or PDF."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.reports.delivery_record import ReportDelivery, of_day
from api.reports.files import MEDIA, Format, report_response

router = APIRouter(prefix="/reports", tags=["reports"])
Readers = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.leadership))]
Watchers = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]


@router.get("/deliveries")
def deliveries(day: date, session: SessionDep, _: Watchers) -> list[ReportDelivery]:
    """How a day's report went out by email and Telegram (a channel not tried: no row)."""
    return of_day(session, day)


@router.get(
    "/daily/{day}.{fmt}",
    response_class=Response,
    responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()}}},
)
def daily(day: date, fmt: Format, session: SessionDep, _: Readers) -> Response:
    """The stored report of an Asia/Jakarta day (404 until it has been generated)."""
    return report_response(session, day, fmt)
