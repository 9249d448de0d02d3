"""Raw AMI events and queue snapshots: the caller's number is inside their JSON fields,
which no portable SQL condition can test, so raw events are scrubbed in (at, id) order
from a watermark moved with each batch (``RetentionMark``); ``ix_ami_event_at`` keeps
each batch a range scan. An event delivered after its time had passed the cutoff falls
behind the watermark: the collector delivers within minutes, the limit is months.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.events.models import AmiEvent, Call, QueueSnapshot
from api.retention.holders import Batch, Kind
from api.retention.models import RetentionMark
from api.retention.scrub import scrub_fields


@dataclass(frozen=True)
class RawEventHolder:
    name: str = "ami_event"
    kind: Kind = "numbers"

    def _after_mark(self, session: Session) -> ColumnElement[bool]:
        mark = session.get(RetentionMark, self.name)
        if mark is None:
            return sa.true()
        at, key = col(AmiEvent.at), col(AmiEvent.id)
        return sa.or_(at > mark.at, sa.and_(at == mark.at, key > mark.key))

    def pending(self, session: Session, before: datetime) -> int:
        where = sa.and_(col(AmiEvent.at) < before, self._after_mark(session))
        return int(session.exec(select(sa.func.count()).select_from(AmiEvent).where(where)).one())

    def purge(self, session: Session, before: datetime, limit: int) -> Batch:
        query = (
            select(AmiEvent)
            .where(col(AmiEvent.at) < before, self._after_mark(session))
            .order_by(col(AmiEvent.at), col(AmiEvent.id))
            .limit(limit)
        )
        events = list(session.exec(query).all())
        batch = Batch(scanned=len(events), changed=_scrub(session, events))
        if events:
            last = events[-1]
            mark = session.get(RetentionMark, self.name) or RetentionMark(
                holder=self.name, at=last.at, key=last.id
            )
            mark.at, mark.key = last.at, last.id
            session.add(mark)
        session.flush()
        return batch

    def export(self, session: Session, forms: list[str], limit: int) -> list[dict[str, Any]]:
        # The calls' own rows are exported; their raw events say the same, in AMI's words.
        return []

    def erase(self, session: Session, forms: list[str]) -> Batch:
        """The raw events of the citizen's calls (run before the calls lose their number)."""
        calls = session.exec(
            select(Call.node, Call.linkedid).where(col(Call.caller).in_(forms))
        ).all()
        batch = Batch()
        for node, linkedid in calls:
            events = list(
                session.exec(
                    select(AmiEvent).where(AmiEvent.linkedid == linkedid, AmiEvent.node == node)
                ).all()
            )
            batch.scanned += len(events)
            batch.changed += _scrub(session, events)
        session.flush()
        return batch


def _scrub(session: Session, events: list[AmiEvent]) -> int:
    changed = 0
    for event in events:
        clean = scrub_fields(event.fields)
        if clean != event.fields:
            event.fields = clean  # a new object: SQLAlchemy sees the JSON change
            session.add(event)
            changed += 1
    return changed


@dataclass(frozen=True)
class SnapshotHolder:
    """Each node's latest queue snapshot (one row a node): its waiting callers' numbers."""

    name: str = "queue_snapshot"
    kind: Kind = "numbers"

    def pending(self, session: Session, before: datetime) -> int:
        rows = session.exec(select(QueueSnapshot).where(col(QueueSnapshot.at) < before)).all()
        return sum(_scrubbed(row.entries) != row.entries for row in rows)

    def purge(self, session: Session, before: datetime, limit: int) -> Batch:
        rows = session.exec(select(QueueSnapshot).where(col(QueueSnapshot.at) < before)).all()
        return self._scrub(session, list(rows), lambda entry: True)

    def export(self, session: Session, forms: list[str], limit: int) -> list[dict[str, Any]]:
        return []

    def erase(self, session: Session, forms: list[str]) -> Batch:
        rows = list(session.exec(select(QueueSnapshot)).all())
        return self._scrub(session, rows, lambda entry: _number(entry) in forms)

    def _scrub(
        self, session: Session, rows: list[QueueSnapshot], which: Callable[[dict[str, Any]], bool]
    ) -> Batch:
        # Fewer rows than any batch size: one call does them all.
        batch = Batch()
        for row in rows:
            entries = [scrub_fields(e) if which(e) else e for e in row.entries]
            if entries != row.entries:
                row.entries = entries
                session.add(row)
                batch.changed += 1
        session.flush()
        return batch


def _scrubbed(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [scrub_fields(entry) for entry in entries]


def _number(entry: dict[str, Any]) -> Any:
    return entry.get("CallerIDNum") or entry.get("CallerID")
