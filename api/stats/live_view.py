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
from api.core.numbers import national
from api.core.settings import CALL_END_HORIZON
from api.events.models import AgentEvent, AgentRing, Call, QueueSnapshot
from api.stats.schemas import LiveAgent, LiveCaller

RING_FRESH = timedelta(minutes=2)
# Device states (QueueMember Status) that mean the phone is ringing: RINGING, RINGINUSE.
RINGING_STATES = frozenset({"6", "7"})
# Whichever node shows an officer busiest wins (an officer may be on several nodes).
_RANK = {"on_call": 0, "ringing": 1, "available": 2, "paused": 3, "logged_out": 4}


@dataclass(frozen=True)
class Scene:
    """What every step reads: the session, each node's newest snapshot, and the time now.

    ``horizon``: a call whose end was never seen stops counting this long after it was
    answered or queued (``ApiSettings.call_end_horizon_hours``)."""

    session: Session
    snapshots: dict[str, QueueSnapshot]
    now: datetime
    horizon: timedelta = CALL_END_HORIZON

    def since(self, node: str) -> datetime | None:
        """When the node's snapshot was taken (changes from then on apply over it)."""
        snapshot = self.snapshots.get(node)
        return snapshot_since(snapshot) if snapshot is not None else None


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


def _in_call(scene: Scene, node_officers: dict[str, dict[str, Officer]]) -> set[tuple[str, str]]:
    """(node, officer) pairs in a call now."""
    busy = _answered_since_snapshot(scene)
    return busy | _still_in_snapshot_call(scene, node_officers, busy)


def _answered_since_snapshot(scene: Scene) -> set[tuple[str, str]]:
    """Officers with a call answered (since their node's snapshot, if any) and not ended."""
    open_calls = scene.session.exec(
        select(Call).where(
            col(Call.agent).is_not(None),
            col(Call.answered_at) > scene.now - scene.horizon,
            col(Call.ended_at).is_(None),
        )
    ).all()
    busy: set[tuple[str, str]] = set()
    for call in open_calls:
        since = scene.since(call.node)
        answered = as_utc(call.answered_at) if call.answered_at else None
        if since is None or (answered is not None and answered >= since):
            busy.add((call.node, str(call.agent)))
    return busy


def _still_in_snapshot_call(
    scene: Scene, node_officers: dict[str, dict[str, Officer]], busy: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Officers the snapshot shows in a call, unless a call of theirs ended since; not for
    a snapshot older than the horizon (too old to say anyone is still in that call)."""
    fresh = {
        node: since
        for node in scene.snapshots
        if (since := scene.since(node)) is not None and since >= scene.now - scene.horizon
    }
    candidates = {
        (node, name)
        for node in fresh
        for name, officer in node_officers.get(node, {}).items()
        if officer.in_call and (node, name) not in busy
    }
    if not candidates:
        return set()
    last_ended = _last_call_ends(scene.session, candidates, min(fresh.values()))
    return {
        (node, name)
        for node, name in candidates
        if (ended := last_ended.get((node, name))) is None or ended < fresh[node]
    }


def _last_call_ends(
    session: Session, officers: set[tuple[str, str]], since: datetime
) -> dict[tuple[str, str], datetime]:
    """Per (node, officer), the end of their latest call ended since ``since``: one query."""
    rows = session.exec(
        select(Call.node, Call.agent, func.max(Call.ended_at))
        .where(
            col(Call.node).in_({node for node, _ in officers}),
            col(Call.agent).in_({name for _, name in officers}),
            col(Call.ended_at) >= since,
        )
        .group_by(col(Call.node), col(Call.agent))
    ).all()
    return {(node, str(agent)): as_utc(ended) for node, agent, ended in rows if ended is not None}


def _ringing(scene: Scene, node_officers: dict[str, dict[str, Officer]]) -> set[tuple[str, str]]:
    """(node, officer) pairs whose phone rings now: a fresh ring whose call still waits, or
    the fresh snapshot's device state where no ring was seen since."""
    rings = {
        (ring.node, ring.agent): ring
        for ring in scene.session.exec(
            select(AgentRing).where(col(AgentRing.at) > scene.now - RING_FRESH)
        ).all()
    }
    newer = [
        ring
        for ring in rings.values()
        if ring.ringing and ((since := scene.since(ring.node)) is None or as_utc(ring.at) >= since)
    ]
    waiting = _still_waiting(scene.session, newer)
    ringing = {(ring.node, ring.agent) for ring in newer if (ring.node, ring.linkedid) in waiting}
    for node, snapshot in scene.snapshots.items():
        if as_utc(snapshot.at) < scene.now - RING_FRESH:
            continue
        for name, officer in node_officers.get(node, {}).items():
            if officer.ringing and (node, name) not in rings:
                ringing.add((node, name))
    return ringing


def _still_waiting(session: Session, rings: Sequence[AgentRing]) -> set[tuple[str, str]]:
    """The (node, linkedid) of the rings' calls still in the queue (nobody answered, not
    over): one query for them all."""
    if not rings:
        return set()
    rows = session.exec(
        select(Call.node, Call.linkedid).where(
            col(Call.linkedid).in_({ring.linkedid for ring in rings}),
            col(Call.answered_at).is_(None),
            col(Call.outcome).is_(None),
        )
    ).all()
    return {(node, linkedid) for node, linkedid in rows}


def _state(officer: Officer, in_call: bool, ringing: bool) -> str:
    """Logged out, else on a call, else paused, else ringing, else available."""
    if not officer.logged_in:
        return "logged_out"
    if in_call:
        return "on_call"
    if officer.paused:
        return "paused"
    return "ringing" if ringing else "available"


def agents(scene: Scene) -> list[LiveAgent]:
    """Each officer's state now: on_call, ringing, available, paused or logged_out."""
    node_officers = officers_by_node(scene.session, scene.snapshots)
    in_call = _in_call(scene, node_officers)
    ringing = _ringing(scene, node_officers)
    best: dict[str, LiveAgent] = {}
    for node, officers in node_officers.items():
        for name, officer in officers.items():
            state = _state(officer, (node, name) in in_call, (node, name) in ringing)
            reason = officer.reason if state == "paused" else None
            seen = best.get(name)
            if seen is None or _RANK[state] < _RANK[seen.state]:
                best[name] = LiveAgent(agent=name, state=state, reason=reason)
    return [best[name] for name in sorted(best)]


def waiting(scene: Scene) -> list[LiveCaller]:
    """Callers in the queue now in the order they are served: urgent ones first (their
    queue priority), then longest waiting first."""
    open_calls = scene.session.exec(
        select(Call).where(
            col(Call.queue_entered_at).is_not(None),
            col(Call.queue_entered_at) > scene.now - scene.horizon,
            col(Call.answered_at).is_(None),
            col(Call.outcome).is_(None),
        )
    ).all()
    entries = {node: _entry_ids(snapshot) for node, snapshot in scene.snapshots.items()}
    found: list[tuple[datetime, LiveCaller]] = []
    shown: set[tuple[str, str]] = set()
    for call in open_calls:
        entered = as_utc(call.queue_entered_at)  # type: ignore[arg-type]
        since = scene.since(call.node)
        if since is not None and entered < since and call.linkedid not in entries[call.node]:
            continue  # it left the queue while no collector listened
        shown.add((call.node, call.linkedid))
        found.append((entered, _caller(call, entered, scene.now)))
    for node in scene.snapshots:
        found += _unseen_entries(scene, node, shown)
    found.sort(key=lambda item: (not item[1].urgent, item[0]))
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
        urgent=call.urgent,
    )


def _unseen_entries(
    scene: Scene, node: str, shown: set[tuple[str, str]]
) -> list[tuple[datetime, LiveCaller]]:
    """The node's snapshot's callers with no call row at all: they joined while no
    collector listened (a caller whose call row is closed has left since)."""
    session, snapshot, now = scene.session, scene.snapshots[node], scene.now
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
                    caller=national(number) if number and number != "unknown" else None,
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
