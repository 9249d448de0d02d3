"""Block, unblock and look up numbers; every block and unblock is audited.

An entry whose ``until`` has passed no longer blocks; it stays listed (inactive) until a
supervisor unblocks it or blocks the number again.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from api.audit.models import BlocklistAction
from api.audit.service import log_blocklist_change
from api.blocklist.models import BlockedNumber, BlockRequest, BlockView
from api.core.auth import Principal
from api.core.clock import as_utc, utc_now
from api.core.errors import Conflict, InvalidInput, NotFound


def active(entry: BlockedNumber, now: datetime) -> bool:
    return entry.until is None or as_utc(entry.until) > now


def view(entry: BlockedNumber, now: datetime) -> BlockView:
    return BlockView(
        number=entry.number,
        reason=entry.reason,
        until=as_utc(entry.until) if entry.until else None,
        added_by=entry.added_by,
        added_at=as_utc(entry.added_at),
        active=active(entry, now),
    )


def entries(session: Session) -> list[BlockView]:
    """Every entry, the newest first; expired ones marked inactive."""
    now = utc_now()
    rows = session.exec(select(BlockedNumber).order_by(col(BlockedNumber.added_at).desc()))
    return [view(row, now) for row in rows.all()]


def _entry(session: Session, number: str) -> BlockedNumber | None:
    return session.exec(select(BlockedNumber).where(BlockedNumber.number == number)).first()


def blocking(session: Session, number: str) -> BlockView:
    """The entry that blocks ``number`` now (already normalised); NotFound if none does."""
    now = utc_now()
    entry = _entry(session, number)
    if entry is None or not active(entry, now):
        raise NotFound(f"{number} is not blocked", "not_blocked")
    return view(entry, now)


def block(session: Session, who: Principal, request: BlockRequest) -> BlockView:
    """Block a number (an expired entry of it is replaced); Conflict if it is blocked."""
    now = utc_now()
    if request.until is not None and request.until <= now:
        raise InvalidInput("until must be in the future", "until_in_past")
    existing = _entry(session, request.number)
    if existing is not None:
        if active(existing, now):
            raise Conflict(f"{request.number} is already blocked", "already_blocked")
        session.delete(existing)
        session.flush()
    entry = BlockedNumber(
        number=request.number,
        reason=request.reason,
        until=request.until,
        added_by=who.name[:128],
        added_at=now,
    )
    session.add(entry)
    log_blocklist_change(session, who, BlocklistAction.block, entry)
    session.commit()
    return view(entry, now)


def unblock(session: Session, who: Principal, number: str) -> BlockView:
    """Remove a number's entry (active or expired); NotFound if there is none."""
    entry = _entry(session, number)
    if entry is None:
        raise NotFound(f"{number} is not on the blocklist", "not_blocked")
    gone = view(entry, utc_now())
    session.delete(entry)
    log_blocklist_change(session, who, BlocklistAction.unblock, entry)
    session.commit()
    return gone
