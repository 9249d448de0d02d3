"""Personal data holders: each knows how to find its rows older than a cutoff that still
hold a citizen's number or recording, how to anonymise (or delete) them, and how to
export and erase one citizen's rows. The registry (``registry.HOLDERS``) lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, select

# A column, or an SQL expression over columns.
Column = ColumnElement[Any] | Mapped[Any]
# Which retention limit applies: callers' numbers or recordings (api settings).
Kind = Literal["numbers", "recordings"]


@dataclass
class Batch:
    """What one step did: rows looked at, rows changed, recordings to delete (names)."""

    scanned: int = 0
    changed: int = 0
    files: list[str] = field(default_factory=list)


class Holder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> Kind: ...

    def pending(self, session: Session, before: datetime) -> int:
        """How many rows a purge up to ``before`` would change (a dry run)."""
        ...

    def purge(self, session: Session, before: datetime, limit: int) -> Batch:
        """Anonymise up to ``limit`` rows from before ``before``; the caller commits. A
        batch that scanned fewer than ``limit`` rows was the last."""
        ...

    def export(self, session: Session, forms: list[str], limit: int) -> list[dict[str, Any]]:
        """One citizen's rows (any of the spellings ``forms`` of their number), as JSON."""
        ...

    def erase(self, session: Session, forms: list[str]) -> Batch:
        """Anonymise every row of one citizen, whatever its age; the caller commits."""
        ...


def file_name(path: str | None) -> list[str]:
    """The recording's name in the recordings folder (how the API serves it), if any."""
    name = PurePath(path).name if path else ""
    return [name] if name not in ("", ".", "..") else []


@dataclass(frozen=True)
class RowHolder:
    """A table whose personal rows are found by a condition (so a row that gets its number
    back later, from a late import, is found again), anonymised in place by ``forget``, or
    deleted when ``forget`` is None."""

    name: str
    kind: Kind
    model: type[SQLModel]
    # The row's instant, compared with the cutoff.
    when: Column
    # True while the row still holds what this holder removes.
    personal: ColumnElement[bool]
    # The column holding the citizen's number (None: not looked up by number).
    number: Column | None
    # Clears the row in place and returns the recordings to delete; None deletes the row.
    forget: Callable[[Any], list[str]] | None
    # Whether the row is part of a citizen's export (one holder per table exports it).
    exports: bool = True
    exclude: frozenset[str] = frozenset()
    # With ``forget``: the row goes too, once ``forget`` gave its recordings.
    drop: bool = False

    def _stale(self, before: datetime) -> ColumnElement[bool]:
        return sa.and_(self.when < before, self.personal)

    def pending(self, session: Session, before: datetime) -> int:
        query = select(sa.func.count()).select_from(self.model).where(self._stale(before))
        return int(session.exec(query).one())

    def purge(self, session: Session, before: datetime, limit: int) -> Batch:
        rows = session.exec(select(self.model).where(self._stale(before)).limit(limit)).all()
        return self._apply(session, list(rows), scanned=len(rows))

    def export(self, session: Session, forms: list[str], limit: int) -> list[dict[str, Any]]:
        if self.number is None or not self.exports:
            return []
        rows = session.exec(select(self.model).where(self.number.in_(forms)).limit(limit)).all()
        return [row.model_dump(mode="json", exclude=set(self.exclude)) for row in rows]

    def erase(self, session: Session, forms: list[str]) -> Batch:
        if self.number is None:
            return Batch()
        query = select(self.model).where(self.number.in_(forms), self.personal)
        rows = list(session.exec(query).all())
        return self._apply(session, rows, scanned=len(rows))

    def _apply(self, session: Session, rows: list[Any], *, scanned: int) -> Batch:
        batch = Batch(scanned=scanned, changed=len(rows))
        for row in rows:
            if self.forget is not None:
                batch.files += self.forget(row)
            if self.forget is None or self.drop:
                session.delete(row)
            else:
                session.add(row)
        session.flush()
        return batch
