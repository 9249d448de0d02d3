"""One citizen's data on request (UU 27/2022): an export of everything we hold under any
spelling of their number, or its erasure. Admins only; each request is audited with the
number masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.core.auth import Principal
from api.core.numbers import national, spellings
from api.retention import files
from api.retention.models import CitizenRequest
from api.retention.registry import HOLDERS
from ivr.redact import mask_number

# A citizen's number as a path parameter (an optional +, 4 to 20 digits).
NUMBER_PATTERN = r"^\+?[0-9]{4,20}$"
# Rows exported per holder: a citizen who called thousands of times gets the newest
# thousand of each and ``truncated`` says so.
EXPORT_LIMIT = 1000


class CitizenExport(BaseModel):
    number: str
    spellings: list[str]
    data: dict[str, list[dict[str, Any]]]
    truncated: list[str]


def forms(number: str) -> list[str]:
    return spellings(national(number))


def export(session: Session, number: str, who: Principal) -> CitizenExport:
    found = {h.name: h.export(session, forms(number), EXPORT_LIMIT + 1) for h in HOLDERS}
    data = {name: rows[:EXPORT_LIMIT] for name, rows in found.items() if rows}
    truncated = [name for name, rows in found.items() if len(rows) > EXPORT_LIMIT]
    _audit(session, who, "export", number, {name: len(rows) for name, rows in data.items()})
    session.commit()
    return CitizenExport(
        number=national(number), spellings=forms(number), data=data, truncated=truncated
    )


def erase(session: Session, number: str, who: Principal, folder: Path) -> dict[str, int]:
    """Anonymise every row of the citizen in one transaction and delete their recordings."""
    counts: dict[str, int] = {}
    for holder in HOLDERS:
        batch = holder.erase(session, forms(number))
        files.queue(session, batch.files)
        counts[holder.name] = batch.changed
    _audit(session, who, "erase", number, counts)
    session.commit()
    counts["files"] = files.drain(session, folder)
    return counts


def _audit(
    session: Session, who: Principal, action: str, number: str, counts: dict[str, int]
) -> None:
    session.add(
        CitizenRequest(
            actor=who.name,
            role=who.role.value,
            action=action,
            number=mask_number(national(number)),
            counts=counts,
        )
    )


def requests(session: Session, limit: int) -> list[CitizenRequest]:
    query = select(CitizenRequest).order_by(col(CitizenRequest.id).desc()).limit(limit)
    return list(session.exec(query).all())
