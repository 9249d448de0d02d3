"""The mayor's daily report, in JSON, CSV, HTML or PDF."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlmodel import Session

from api.core.auth import Principal, Role, require_roles
from api.core.db import SessionDep
from api.reports import pdf, render, service

router = APIRouter(prefix="/reports", tags=["reports"])
Readers = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.leadership))]


class Format(StrEnum):
    json = "json"
    csv = "csv"
    html = "html"
    pdf = "pdf"


MEDIA = {
    Format.json: "application/json",
    Format.csv: "text/csv; charset=utf-8",
    Format.html: "text/html; charset=utf-8",
    Format.pdf: "application/pdf",
}


@router.get(
    "/daily/{day}.{fmt}",
    response_class=Response,
    responses={200: {"content": {m.split(";")[0]: {} for m in MEDIA.values()}}},
)
def daily(day: date, fmt: Format, session: SessionDep, _: Readers) -> Response:
    """The stored report of an Asia/Jakarta day (404 until it has been generated)."""
    return report_response(session, day, fmt)


def report_response(session: Session, day: date, fmt: Format) -> Response:
    """The stored report of ``day`` in ``fmt``, as a download shown inline."""
    report = service.get(session, day)
    headers = {"Content-Disposition": f'inline; filename="laporan-harian-{day}.{fmt.value}"'}
    if fmt is Format.json:
        return Response(report.content, media_type=MEDIA[fmt], headers=headers)
    content = service.load(report)
    if fmt is Format.csv:
        body: str | bytes = render.to_csv(content)
    elif fmt is Format.html:
        body = render.to_html(content)
        headers["Content-Security-Policy"] = render.CSP
    else:
        body = pdf.to_pdf(content)
    return Response(body, media_type=MEDIA[fmt], headers=headers)
