"""Recordings are deleted from a queue (``retention_file``) filled in the transaction that
stops pointing at them: a file goes only after that commit, and a crash in between leaves
its name queued for the next drain. No row ever points at a missing file."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlmodel import Session, col, select

from api.retention.models import RetentionFile

DRAIN_BATCH = 500
log = logging.getLogger("uvicorn.error")


def queue(session: Session, names: Iterable[str]) -> None:
    """Queue these recordings for deletion in the session's transaction."""
    for name in names:
        session.add(RetentionFile(name=name))


def drain(session: Session, folder: Path) -> int:
    """Delete every queued recording from ``folder``; returns how many files went. A file
    that can't be deleted (a read-only mount) stays queued, logged, for the next drain."""
    removed, after = 0, 0
    while True:
        query = (
            select(RetentionFile)
            .where(col(RetentionFile.id) > after)
            .order_by(col(RetentionFile.id))
            .limit(DRAIN_BATCH)
        )
        batch = list(session.exec(query).all())
        for row in batch:
            after = row.id or after
            path = folder / Path(row.name).name
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("retention: could not delete recording %s: %s", path, exc)
                continue
            session.delete(row)
        session.commit()
        if len(batch) < DRAIN_BATCH:
            return removed
