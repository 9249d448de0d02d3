"""A stored daily report as a file to download or show: JSON, CSV, HTML or PDF."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from fastapi import Response
from sqlmodel import Session

from api.reports import pdf, render, service


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
