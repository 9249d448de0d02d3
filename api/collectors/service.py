"""What each collector last said about itself, and what a supervisor must hear of it.

A collector reports every few seconds (``PUT /collectors/{node}``): whether its AMI
session to Asterisk is up and for how long it has been in that state, and how many events
wait in its disk buffer. Times are the API's own: the report says "for N seconds", not a
timestamp, so a collector's wrong clock can't move an outage. Two outages follow:

- ``asterisk_unreachable``: the collector is alive but its AMI session is down, since the
  moment it last changed state;
- ``collector_silent``: no report for longer than the silence limit, since the last one.

An empty table is an outage too (``no_collector``): nothing feeds the live figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import delete
from sqlmodel import Field, Session, SQLModel, col, select

from api.core.clock import as_utc
from api.core.db import conflict_insert

TZ_DATETIME = sa.DateTime(timezone=True)
MAX_NODE = 64


class CollectorStatus(SQLModel, table=True):
    __tablename__ = "collector_status"

    node: str = Field(primary_key=True, max_length=MAX_NODE)
    reported_at: datetime = Field(sa_type=TZ_DATETIME)
    ami_connected: bool
    # When the AMI session last went up or down, on the API's clock.
    ami_since: datetime = Field(sa_type=TZ_DATETIME)
    buffered: int = 0


@dataclass(frozen=True)
class Report:
    ami_connected: bool
    ami_state_seconds: float
    buffered: int


@dataclass(frozen=True)
class Outage:
    kind: str  # collector_silent, asterisk_unreachable, no_collector
    node: str | None
    since: datetime | None


def record(
    session: Session, node: str, report: Report, now: datetime, silent_after: timedelta
) -> bool:
    """Store ``node``'s report; True if a supervisor's board should redraw (the AMI
    session changed state, or the collector was silent or new)."""
    before = session.get(CollectorStatus, node)
    changed = (
        before is None
        or before.ami_connected != report.ami_connected
        or is_silent(before, now, silent_after)
    )
    values = {
        "reported_at": now,
        "ami_connected": report.ami_connected,
        "ami_since": now - timedelta(seconds=report.ami_state_seconds),
        "buffered": report.buffered,
    }
    if before is not None and before.ami_connected == report.ami_connected:
        # The same state as before: its start stays where the first report put it, so
        # a collector's jittery "for N seconds" doesn't move it.
        values["ami_since"] = as_utc(before.ami_since)
    insert = conflict_insert(session, CollectorStatus)
    session.connection().execute(
        insert.values(node=node, **values).on_conflict_do_update(
            index_elements=["node"], set_=values
        )
    )
    return changed


def statuses(session: Session) -> list[CollectorStatus]:
    return list(session.exec(select(CollectorStatus).order_by(col(CollectorStatus.node))).all())


def is_silent(status: CollectorStatus, now: datetime, silent_after: timedelta) -> bool:
    return now - as_utc(status.reported_at) > silent_after


def outages(session: Session, now: datetime, silent_after: timedelta) -> list[Outage]:
    found = statuses(session)
    if not found:
        return [Outage("no_collector", None, None)]
    result = []
    for status in found:
        if is_silent(status, now, silent_after):
            result.append(Outage("collector_silent", status.node, as_utc(status.reported_at)))
        elif not status.ami_connected:
            result.append(Outage("asterisk_unreachable", status.node, as_utc(status.ami_since)))
    return result


def forget(session: Session, node: str) -> bool:
    """Remove a retired node's row (its outage stops showing); False if there was none."""
    gone = session.connection().execute(
        delete(CollectorStatus).where(col(CollectorStatus.node) == node)
    )
    session.commit()
    return bool(gone.rowcount)
