"""The audit: recordings' playbacks and downloads, and the blocklist's blocks and unblocks.

A recording's playback or download is logged once, not once per HTTP Range request.

A browser's player asks for ``Range: bytes=0-`` when it starts and for ``bytes=N-`` each
time it seeks or resumes; a download (curl, "save as") asks without a Range. So a request
without Range, or whose first range starts at byte 0, is one playback or download; the
others continue one already logged. Playing again from the start logs again: that is
another listening.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from api.audit.models import BlocklistAction, BlocklistChange, RecordingAccess, RecordingKind
from api.core.auth import Principal
from api.core.clock import utc_now


class BlockedEntry(Protocol):
    """A blocklist entry as the audit copies it (api/blocklist's table)."""

    number: str
    reason: str
    until: datetime | None


_FIRST_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-")


def starts_listening(range_header: str | None) -> bool:
    """Whether a request with this Range header starts a playback or a download."""
    if range_header is None:
        return True
    found = _FIRST_RANGE.match(range_header)
    # A suffix range (``bytes=-500``) or an unreadable header reads from elsewhere.
    return found is not None and found.group(1) != "" and int(found.group(1)) == 0


def log_access(
    session: Session,
    principal: Principal,
    *,
    kind: RecordingKind,
    subject: str,
    file: str,
    route: str,
    range_header: str | None,
) -> bool:
    """Record this access if it starts a playback or download; whether it did."""
    if not starts_listening(range_header):
        return False
    session.add(
        RecordingAccess(
            at=utc_now(),
            username=principal.name[:128],
            role=principal.role.value,
            kind=kind.value,
            subject=subject[:140],
            file=file[:128],
            route=route[:200],
        )
    )
    session.commit()
    return True


def accesses(
    session: Session, *, since: datetime | None, username: str | None, limit: int
) -> list[RecordingAccess]:
    """The newest accesses first."""
    query = select(RecordingAccess)
    if since is not None:
        query = query.where(col(RecordingAccess.at) >= since)
    if username is not None:
        query = query.where(RecordingAccess.username == username)
    query = query.order_by(col(RecordingAccess.at).desc(), col(RecordingAccess.id).desc())
    return list(session.exec(query.limit(limit)).all())


def log_blocklist_change(
    session: Session, who: Principal, action: BlocklistAction, entry: BlockedEntry
) -> None:
    """Add the audit row of a block or unblock to the caller's transaction."""
    session.add(
        BlocklistChange(
            at=utc_now(),
            username=who.name[:128],
            role=who.role.value,
            action=action.value,
            number=entry.number,
            reason=entry.reason,
            until=entry.until,
        )
    )


def blocklist_changes(session: Session, *, number: str | None, limit: int) -> list[BlocklistChange]:
    """The newest blocks and unblocks first."""
    query = select(BlocklistChange)
    if number is not None:
        query = query.where(BlocklistChange.number == number)
    query = query.order_by(col(BlocklistChange.at).desc(), col(BlocklistChange.id).desc())
    return list(session.exec(query.limit(limit)).all())
