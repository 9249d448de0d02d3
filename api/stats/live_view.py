"""The live view's callers and officers: Asterisk's own snapshot, then every change since.

Events alone can't give the live state: AMI keeps nothing for a listener that is not
connected, so an officer who joined the queue, paused or took a call before the collector
connected (or while it was restarting) would be missing or wrong for good. So at every
AMI (re)connect the collector asks Asterisk for ``QueueStatus`` and delivers the answer
as a ``LaporQueueSnapshot`` event; the API keeps each node's newest one
(``QueueSnapshot``) and the live view of a node is that snapshot with every change from
its time on applied over it:

- officers: the snapshot's members (queues, paused and why, in a call, ringing), then
  each login, logout, pause and unpause (``agent_event``) from the snapshot's second on;
- in a call: a call answered since the snapshot and not ended; else, if a call of the
  officer ended since, not; else the snapshot's ``InCall``;
- ringing: a ring seen since the snapshot (``agent_ring``); else the snapshot's device
  state, if the snapshot is fresh;
- callers waiting: calls that joined the queue since the snapshot and are still open,
  and the snapshot's queue entries still open (an entry we have no call row for joined
  while no collector listened: it is shown from the snapshot).

Why this is right: each change *sets* something (member or not, paused or not, in a call
or not), so the state is the last change, or the snapshot's value if there was none since.
The snapshot's time is when the collector sent QueueStatus on a session already logged
in, so every change from then on reached that session and is stored; a change in the
same second before it (agent events keep whole seconds) is already in the snapshot, and
applying it again changes nothing. This assumes the collector's and Asterisk's clocks
agree (NTP), as event times already do.

Nodes without a snapshot yet (a collector from before this) keep the events-only view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlmodel import Session, col, func, select

from api.core.clock import as_utc
from api.events.models import AgentEvent, AgentRing, Call, QueueSnapshot
from api.stats.schemas import LiveAgent, LiveCaller

RECENT = timedelta(hours=12)
RING_FRESH = timedelta(minutes=2)
# Device states (QueueMember Status) that mean the phone is ringing: RINGING, RINGINUSE.
RINGING_STATES = frozenset({"6", "7"})
# Whichever node shows an officer busiest wins (an officer may be on several nodes).
_RANK = {"on_call": 0, "ringing": 1, "available": 2, "paused": 3, "logged_out": 4}


@dataclass
class Officer:
    queues: set[str] = field(default_factory=set)
    paused: bool = False
    reason: str | None = None
    in_call: bool = False  # the snapshot's InCall
    ringing: bool = False  # the snapshot's device state

    @property
    def logged_in(self) -> bool:
        return bool(self.queues)


def from_snapshot(members: Iterable[dict[str, str]]) -> dict[str, Officer]:
    """Officers by member name, as QueueStatus's QueueMember answers describe them."""
    officers: dict[str, Officer] = {}
    for member in members:
        name = member.get("Name") or member.get("MemberName") or member.get("Location")
        if not name:
            continue
        officer = officers.setdefault(name, Officer())
        officer.queues.add(member.get("Queue", ""))
        if member.get("Paused") == "1":
            officer.paused = True
            officer.reason = member.get("PausedReason") or officer.reason
        officer.in_call |= member.get("InCall") == "1"
        officer.ringing |= member.get("Status") in RINGING_STATES
    return officers


def apply(officers: dict[str, Officer], changes: Iterable[AgentEvent]) -> None:
    """Apply logins, logouts, pauses and unpauses, in the order given (time order)."""
    for change in changes:
        officer = officers.setdefault(change.agent, Officer())
        if change.kind == "login":
            if not officer.logged_in:  # a fresh login starts unpaused
                officer.paused, officer.reason = False, None
            officer.queues.add(change.queue)
        elif change.kind == "logout":
            officer.queues.discard(change.queue)
            if not officer.logged_in:
                officer.paused, officer.reason = False, None
                officer.in_call = officer.ringing = False
        elif change.kind == "pause":
            officer.paused, officer.reason = True, change.reason
        elif change.kind == "unpause":
            officer.paused, officer.reason = False, None


def snapshot_since(snapshot: QueueSnapshot) -> datetime:
    """Changes from this time on are applied over the snapshot (its whole second)."""
    return as_utc(snapshot.at).replace(microsecond=0)


def _latest_changes(session: Session, exclude: Sequence[str]) -> list[AgentEvent]:
    """Per node and officer, the last login/logout and the last pause/unpause, oldest first
    (the events-only view, for nodes without a snapshot)."""
    out: list[AgentEvent] = []
    for kinds in (("login", "logout"), ("pause", "unpause")):
        where = [col(AgentEvent.kind).in_(kinds)]
        if exclude:
            where.append(col(AgentEvent.node).not_in(list(exclude)))
        latest = (
            select(
                col(AgentEvent.node).label("node"),
                col(AgentEvent.agent).label("agent"),
                func.max(AgentEvent.at).label("at"),
            )
            .where(*where)
            .group_by(col(AgentEvent.node), col(AgentEvent.agent))
            .subquery()
        )
        out += session.exec(
            select(AgentEvent)
            .join(
                latest,
                and_(
                    col(AgentEvent.node) == latest.c.node,
                    col(AgentEvent.agent) == latest.c.agent,
                    col(AgentEvent.at) == latest.c.at,
                ),
            )
            .where(*where)
        ).all()
    return sorted(out, key=lambda e: (as_utc(e.at), e.id or 0))


def _changes_since(session: Session, node: str, since: datetime) -> list[AgentEvent]:
    return list(
        session.exec(
            select(AgentEvent)
            .where(AgentEvent.node == node, col(AgentEvent.at) >= since)
            .order_by(col(AgentEvent.at), col(AgentEvent.id))
        ).all()
    )


def officers_by_node(
    session: Session, snapshots: dict[str, QueueSnapshot]
) -> dict[str, dict[str, Officer]]:
    """Every officer ever seen, per node, in their state now (before calls and rings)."""
    nodes: dict[str, dict[str, Officer]] = defaultdict(dict)
    for node, agent in session.exec(select(AgentEvent.node, AgentEvent.agent).distinct()).all():
        nodes[node].setdefault(agent, Officer())  # logged out unless shown otherwise
    for node, snapshot in snapshots.items():
        known = nodes[node]
        for name in known:
            known[name] = Officer()
        known.update(from_snapshot(snapshot.members))
        apply(known, _changes_since(session, node, snapshot_since(snapshot)))
    for change in _latest_changes(session, sorted(snapshots)):
        apply(nodes[change.node], [change])
    return nodes


def _in_call(
    session: Session,
    node_officers: dict[str, dict[str, Officer]],
    snapshots: dict[str, QueueSnapshot],
    now: datetime,
) -> set[tuple[str, str]]:
    """(node, officer) pairs in a call now."""
    open_calls = session.exec(
        select(Call).where(
            col(Call.agent).is_not(None),
            col(Call.answered_at) > now - RECENT,
            col(Call.ended_at).is_(None),
        )
    ).all()
    busy: set[tuple[str, str]] = set()
    for call in open_calls:
        snapshot = snapshots.get(call.node)
        answered = as_utc(call.answered_at) if call.answered_at else None
        if snapshot is None or (answered is not None and answered >= snapshot_since(snapshot)):
            busy.add((call.node, str(call.agent)))
    for node, snapshot in snapshots.items():
        since = snapshot_since(snapshot)
        if since < now - RECENT:
            continue  # too old to say anyone is still in that call
        for name, officer in node_officers.get(node, {}).items():
            if not officer.in_call or (node, name) in busy:
                continue
            ended_since = session.exec(
                select(Call.id)
                .where(Call.agent == name, col(Call.ended_at) >= since, Call.node == node)
                .limit(1)
            ).first()
            if ended_since is None:
                busy.add((node, name))
    return busy


def _ringing(
    session: Session,
    node_officers: dict[str, dict[str, Officer]],
    snapshots: dict[str, QueueSnapshot],
    now: datetime,
) -> set[tuple[str, str]]:
    rings = {
        (ring.node, ring.agent): ring
        for ring in session.exec(
            select(AgentRing).where(col(AgentRing.at) > now - RING_FRESH)
        ).all()
    }
    ringing = set()
    for key, ring in rings.items():
        snapshot = snapshots.get(ring.node)
        if snapshot is not None and as_utc(ring.at) < snapshot_since(snapshot):
            continue  # the snapshot is newer
        if ring.ringing and _still_waiting(session, ring):
            ringing.add(key)
    for node, snapshot in snapshots.items():
        if as_utc(snapshot.at) < now - RING_FRESH:
            continue
        for name, officer in node_officers.get(node, {}).items():
            if officer.ringing and (node, name) not in rings:
                ringing.add((node, name))
    return ringing


def _still_waiting(session: Session, ring: AgentRing) -> bool:
    """The call that rang this agent is still in the queue (nobody answered, not over)."""
    call = session.exec(
        select(Call).where(Call.node == ring.node, Call.linkedid == ring.linkedid)
    ).first()
    return call is not None and call.answered_at is None and call.outcome is None


def agents(session: Session, snapshots: dict[str, QueueSnapshot], now: datetime) -> list[LiveAgent]:
    """Each officer's state now: on_call, ringing, available, paused or logged_out."""
    node_officers = officers_by_node(session, snapshots)
    in_call = _in_call(session, node_officers, snapshots, now)
    ringing = _ringing(session, node_officers, snapshots, now)
    best: dict[str, LiveAgent] = {}
    for node, officers in node_officers.items():
        for name, officer in officers.items():
            if not officer.logged_in:
                state = "logged_out"
            elif (node, name) in in_call:
                state = "on_call"
            elif officer.paused:
                state = "paused"
            elif (node, name) in ringing:
                state = "ringing"
            else:
                state = "available"
            reason = officer.reason if state == "paused" else None
            seen = best.get(name)
            if seen is None or _RANK[state] < _RANK[seen.state]:
                best[name] = LiveAgent(agent=name, state=state, reason=reason)
    return [best[name] for name in sorted(best)]


def waiting(
    session: Session, snapshots: dict[str, QueueSnapshot], now: datetime
) -> list[LiveCaller]:
    """Callers in the queue now, longest waiting first."""
    open_calls = session.exec(
        select(Call).where(
            col(Call.queue_entered_at).is_not(None),
            col(Call.queue_entered_at) > now - RECENT,
            col(Call.answered_at).is_(None),
            col(Call.outcome).is_(None),
        )
    ).all()
    entries = {node: _entry_ids(snapshot) for node, snapshot in snapshots.items()}
    found: list[tuple[datetime, LiveCaller]] = []
    shown: set[tuple[str, str]] = set()
    for call in open_calls:
        entered = as_utc(call.queue_entered_at)  # type: ignore[arg-type]
        snapshot = snapshots.get(call.node)
        left_unseen = (
            snapshot is not None
            and entered < snapshot_since(snapshot)
            and call.linkedid not in entries[call.node]
        )
        if left_unseen:
            continue  # it left the queue while no collector listened
        shown.add((call.node, call.linkedid))
        found.append((entered, _caller(call, entered, now)))
    for node, snapshot in snapshots.items():
        found += _unseen_entries(session, node, snapshot, shown, now)
    found.sort(key=lambda item: item[0])
    for position, (_, caller) in enumerate(found, start=1):
        caller.position = position
    return [caller for _, caller in found]


def _entry_ids(snapshot: QueueSnapshot) -> dict[str, dict[str, str]]:
    ids: dict[str, dict[str, str]] = {}
    for entry in snapshot.entries:
        for key in ("Linkedid", "Uniqueid"):
            if entry.get(key):
                ids[entry[key]] = entry
    return ids


def _caller(call: Call, entered: datetime, now: datetime) -> LiveCaller:
    return LiveCaller(
        node=call.node,
        linkedid=call.linkedid,
        caller=call.caller,
        queue=call.queue,
        position=0,
        wait_seconds=int((now - entered).total_seconds()),
        category=call.category,
        ticket=call.ticket,
    )


def _unseen_entries(
    session: Session,
    node: str,
    snapshot: QueueSnapshot,
    shown: set[tuple[str, str]],
    now: datetime,
) -> list[tuple[datetime, LiveCaller]]:
    """The snapshot's callers with no call row at all: they joined while no collector
    listened (a caller whose call row is closed has left since)."""
    entries = [e for e in snapshot.entries if (e.get("Linkedid") or e.get("Uniqueid"))]
    ids = {e.get(k, "") for e in entries for k in ("Linkedid", "Uniqueid")} - {""}
    known = set(
        session.exec(select(Call.linkedid).where(Call.node == node, col(Call.linkedid).in_(ids)))
    )
    out = []
    at = as_utc(snapshot.at)
    for entry in entries:
        linkedid = entry.get("Linkedid") or entry.get("Uniqueid") or ""
        if {entry.get("Linkedid"), entry.get("Uniqueid")} & known or (node, linkedid) in shown:
            continue
        waited = _seconds(entry.get("Wait"))
        entered = at - timedelta(seconds=waited)
        number = entry.get("CallerIDNum") or entry.get("CallerID")
        out.append(
            (
                entered,
                LiveCaller(
                    node=node,
                    linkedid=linkedid,
                    caller=number if number and number != "unknown" else None,
                    queue=entry.get("Queue"),
                    position=0,
                    wait_seconds=int((now - entered).total_seconds()),
                    category=None,
                    ticket=None,
                ),
            )
        )
    return out


def _seconds(value: str | None) -> int:
    try:
        return max(0, int(float(value or 0)))
    except ValueError:
        return 0


def snapshots(session: Session) -> dict[str, QueueSnapshot]:
    return {s.node: s for s in session.exec(select(QueueSnapshot)).all()}
