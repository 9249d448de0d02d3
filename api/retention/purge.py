"""The retention purge: every holder, batch by batch, each batch its own transaction.

A crash leaves every committed batch done and the rest untouched; the next run carries
on (the holders find what is left). Call figures (times, outcomes, agents, the hourly
rollup) are never touched, so the KPIs of purged days stay what they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.core.clock import utc_now
from api.core.settings import ApiSettings
from api.retention import files
from api.retention.holders import Kind
from api.retention.models import RetentionRun
from api.retention.registry import HOLDERS


@dataclass(frozen=True)
class Cutoffs:
    numbers: datetime
    recordings: datetime

    def of(self, kind: Kind) -> datetime:
        return self.numbers if kind == "numbers" else self.recordings


def cutoffs(settings: ApiSettings, now: datetime) -> Cutoffs:
    return Cutoffs(
        numbers=now - timedelta(days=settings.retention_days),
        recordings=now - timedelta(days=settings.recording_retention_days),
    )


def pending(engine: Engine, settings: ApiSettings, now: datetime | None = None) -> dict[str, int]:
    """What a run now would purge, by holder (the dry run); changes nothing."""
    limits = cutoffs(settings, now or utc_now())
    with Session(engine) as session:
        return {h.name: h.pending(session, limits.of(h.kind)) for h in HOLDERS}


def run(
    engine: Engine,
    settings: ApiSettings,
    *,
    trigger: str,
    runner: str,
    now: datetime | None = None,
) -> RetentionRun:
    """Purge everything past the limits; the run is logged in ``retention_run``."""
    now = now or utc_now()
    limits = cutoffs(settings, now)
    with Session(engine) as session:
        record = RetentionRun(
            trigger=trigger,
            runner=runner,
            started_at=utc_now(),
            numbers_before=limits.numbers,
            recordings_before=limits.recordings,
        )
        session.add(record)
        session.commit()
        # A run that died after a commit left its recordings queued: delete them first.
        counts = {"files": files.drain(session, settings.recordings_dir)}
        try:
            for holder in HOLDERS:
                counts[holder.name] = 0
                while True:
                    batch = holder.purge(session, limits.of(holder.kind), settings.retention_batch)
                    files.queue(session, batch.files)
                    session.commit()
                    counts[holder.name] += batch.changed
                    counts["files"] += files.drain(session, settings.recordings_dir)
                    if batch.scanned < settings.retention_batch:
                        break
        except Exception as exc:
            session.rollback()
            _close(session, record, counts, error=repr(exc))
            raise
        return _close(session, record, counts)


def _close(
    session: Session, record: RetentionRun, counts: dict[str, int], error: str | None = None
) -> RetentionRun:
    record.counts = dict(counts)
    record.error = error[:500] if error else None
    record.finished_at = utc_now()
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def recent(session: Session, limit: int) -> list[RetentionRun]:
    query = select(RetentionRun).order_by(col(RetentionRun.id).desc()).limit(limit)
    return list(session.exec(query).all())
