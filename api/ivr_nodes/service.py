"""IVR node ids: one live IVR per node id, and the highest ticket each node has issued.

An IVR node issues tickets ``<node id><6-digit sequence>`` from a counter on its own
spool (ivr/tickets.py). Two things could make it issue a ticket twice: its spool is lost
(the counter starts again at 1), or a second IVR with its own spool is given the same
node id. Both are closed here:

- **The highest ticket.** The API holds every complaint a node delivered, so the highest
  ticket of the node's prefix (complaints, and complaints refused and held for a
  supervisor) is a floor for its counter. The IVR raises its counter to it at start-up
  and at every heartbeat, so after a reconnect too.
- **A lease per node id.** The IVR claims its node id with the identity of its spool (a
  random id kept in the spool, ``ivr/node_lease.py``) and renews the claim every few
  seconds. A claim by another identity while the lease is live is refused (409
  ``node_id_in_use``, naming the holder), and that IVR refuses to start. The holder is
  the *spool*, not the process: FastAGI and classic AGI processes on one spool share one
  counter under a file lock, so they may all issue tickets; a restarted IVR on the same
  spool takes its lease straight back. A lease that is not renewed lapses after the
  TTL the IVR asked for, so a crashed node's id is free again within seconds.

Why a lease row and not, say, a unique row per running process: it needs no clean
shutdown to free the id (a SIGKILL costs one TTL), one conditional UPDATE decides every
race on SQLite and PostgreSQL alike, and the same heartbeat carries the ticket floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import delete, func, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from api.complaints.models import Complaint
from api.core.clock import as_utc, utc_now
from api.core.db import conflict_insert
from api.core.errors import NodeIdInUse
from api.refused.service import RefusedComplaint

TZ_DATETIME = sa.DateTime(timezone=True)
TICKET_DIGITS = 8
SEQUENCE_DIGITS = 6


class IvrNodeLease(SQLModel, table=True):
    """Who holds an IVR node id, until when."""

    __tablename__ = "ivr_node_lease"

    node_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # The spool's identity (ivr/node_lease.py): a random id kept in the node's spool.
    holder: str = Field(max_length=64)
    host: str = Field(default="", max_length=255)
    pid: int | None = None
    claimed_at: datetime = Field(sa_type=TZ_DATETIME)
    renewed_at: datetime = Field(sa_type=TZ_DATETIME)
    expires_at: datetime = Field(sa_type=TZ_DATETIME)


@dataclass(frozen=True)
class Claim:
    holder: str
    host: str
    pid: int | None
    ttl: timedelta


def _prefix_range(node_id: int) -> tuple[str, str]:
    prefix = f"{node_id:02d}"
    return prefix + "0" * SEQUENCE_DIGITS, prefix + "9" * SEQUENCE_DIGITS


def highest_ticket(session: Session, node_id: int) -> str | None:
    """The highest 8-digit ticket of this node's prefix the API holds (complaints, and
    complaints refused and held for a supervisor), or None."""
    lo, hi = _prefix_range(node_id)
    best: str | None = None
    for column in (col(Complaint.ticket), col(RefusedComplaint.ticket)):
        found = session.exec(
            select(func.max(column)).where(
                column >= lo, column <= hi, func.length(column) == TICKET_DIGITS
            )
        ).one()
        if found is not None and (best is None or found > best):
            best = str(found)
    return best


def claim(session: Session, node_id: int, wanted: Claim) -> IvrNodeLease:
    """Take or renew the lease of ``node_id`` for ``wanted.holder``; NodeIdInUse if another
    holder's lease is live. One conditional UPDATE (or the first INSERT) decides a race."""
    now = utc_now()
    values = {
        "holder": wanted.holder,
        "host": wanted.host[:255],
        "pid": wanted.pid,
        "renewed_at": now,
        "expires_at": now + wanted.ttl,
    }
    taken = session.connection().execute(
        update(IvrNodeLease)
        .where(
            col(IvrNodeLease.node_id) == node_id,
            or_(col(IvrNodeLease.holder) == wanted.holder, col(IvrNodeLease.expires_at) < now),
        )
        .values(
            **values,
            claimed_at=sa.case(
                (col(IvrNodeLease.holder) == wanted.holder, col(IvrNodeLease.claimed_at)),
                else_=now,
            ),
        )
    )
    if taken.rowcount == 0:
        insert = conflict_insert(session, IvrNodeLease)
        session.connection().execute(
            insert.on_conflict_do_nothing(),
            [{"node_id": node_id, "claimed_at": now, **values}],
        )
    session.commit()
    lease = session.get(IvrNodeLease, node_id, populate_existing=True)
    if lease is None or lease.holder != wanted.holder:
        raise NodeIdInUse(_in_use(node_id, lease))
    return lease


def refuse_sms_prefix(node_id: int, sms_prefix: str) -> None:
    """NodeIdInUse for the SMS ticket prefix: the API issues those tickets itself
    (api/sms/service.py), so an IVR with that id would take an SMS complaint's ticket."""
    if f"{node_id:02d}" == sms_prefix:
        raise NodeIdInUse(
            f"IVR node id {node_id} is the API's SMS ticket prefix (LAPOR_API_SMS_TICKET_PREFIX):"
            f" SMS complaints get tickets {sms_prefix}xxxxxx from the API. Give this IVR"
            f" another LAPOR_IVR_NODE_ID (10-99)."
        )


def _in_use(node_id: int, lease: IvrNodeLease | None) -> str:
    if lease is None:  # released between our insert and our read: the caller tries again
        return f"IVR node id {node_id} changed hands while being claimed; try again"
    where = f"host {lease.host or '?'}" + (f" (pid {lease.pid})" if lease.pid else "")
    return (
        f"IVR node id {node_id} is in use by another IVR ({where}, spool {lease.holder}),"
        f" renewed at {as_utc(lease.renewed_at).isoformat()}, until"
        f" {as_utc(lease.expires_at).isoformat()}. Two IVRs with one node id would issue the"
        f" same tickets: give this one another LAPOR_IVR_NODE_ID (10-99), or share one spool."
    )


def release(session: Session, node_id: int, holder: str) -> bool:
    """End ``holder``'s lease (a clean shutdown); False if it held none."""
    gone = session.connection().execute(
        delete(IvrNodeLease).where(
            col(IvrNodeLease.node_id) == node_id, col(IvrNodeLease.holder) == holder
        )
    )
    session.commit()
    return bool(gone.rowcount)


def leases(session: Session) -> list[IvrNodeLease]:
    return list(session.exec(select(IvrNodeLease).order_by(col(IvrNodeLease.node_id))).all())


def is_live(lease: IvrNodeLease, now: datetime | None = None) -> bool:
    return as_utc(lease.expires_at) > (now or utc_now())
