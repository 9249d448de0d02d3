"""Derive one call's row from all of its events, whatever order they arrived in.

Pure functions: the ingest hands in every stored event of a (node, linkedid) and writes
back what comes out. AMI events and queue_log lines (``QueueLog``) may both be present;
they agree on the figures (both come from the same app_queue variables), so each fact is
taken from whichever source has it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asterisk_values as values
from api.core.numbers import national

QUEUE_LOG = "QueueLog"
# Verbs that end a queued call without an agent.
EXIT_VERBS = {"EXITWITHTIMEOUT": 3, "EXITEMPTY": 3, "EXITWITHKEY": 4}
COMPLETE_VERBS = {"COMPLETECALLER", "COMPLETEAGENT"}
# A transfer ends the officer's part of a call they answered, like a COMPLETE verb. Its
# data ends with holdtime|calltime|origposition; what comes before varies with the kind.
TRANSFER_VERBS = {"BLINDTRANSFER", "ATTENDEDTRANSFER"}
# asterisk_conf/pjsip.conf: the trunk's endpoint context, where citizens' calls arrive.
INBOUND_CONTEXTS = {"from-trunk"}
# The API's own event on a call that was open when its node's Asterisk started again
# (api/events/restarts.py): the call died with the old Asterisk, which said nothing.
CUT_OFF = "LaporCallCutOff"


@dataclass(frozen=True)
class Event:
    name: str
    at: datetime
    fields: dict[str, Any]

    def get(self, key: str) -> str | None:
        value = self.fields.get(key)
        if value is None or value == "":
            return None
        return value if type(value) is str else str(value)

    @property
    def verb(self) -> str | None:
        return self.get("Verb") if self.name == QUEUE_LOG else None

    def data(self, index: int) -> str | None:
        """queue_log data field ``index`` (1-based)."""
        return self.get(f"Data{index}")

    def all_data(self) -> list[str | None]:
        """Every queue_log data field, in order."""
        count = sum(1 for key in self.fields if key.startswith("Data"))
        return [self.data(index) for index in range(1, count + 1)]

    @property
    def user_event(self) -> str | None:
        return self.get("UserEvent") if self.name == "UserEvent" else None


@dataclass
class CallRow:
    caller: str | None = None
    caller_name: str | None = None
    line: str | None = None
    queue: str | None = None
    position: int | None = None
    arrived_at: datetime | None = None
    ivr_ended_at: datetime | None = None
    queue_entered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hold_seconds: int | None = None
    wait_seconds: int | None = None
    talk_seconds: int | None = None
    agent: str | None = None
    category: str | None = None
    ticket: str | None = None
    outcome: str | None = None
    urgent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# The integer columns' range (PostgreSQL ``integer``).
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def completion_figures(verb: str, data: list[str | None]) -> tuple[str | None, str | None]:
    """(hold, talk) seconds of a COMPLETE* or transfer line, from its data fields."""
    if verb in TRANSFER_VERBS:
        return (data[-3], data[-2]) if len(data) >= 3 else (None, None)
    return (data[0] if data else None, data[1] if len(data) > 1 else None)


def as_int(value: str | None) -> int | None:
    """A whole number from Asterisk's text (``"12"``, ``"12.0"``), or None when it is not
    one or is too big to store (``"inf"``, ``"99999999999"``)."""
    try:
        number = int(float(value)) if value is not None else None
    except (ValueError, OverflowError):
        return None
    return number if number is not None and _INT_MIN <= number <= _INT_MAX else None


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _first_of(kind: Callable[[str], str], *candidates: Any) -> str | None:
    """The first candidate that is a valid value of ``kind`` (an asterisk_values check)."""
    for value in candidates:
        if isinstance(value, str):
            try:
                return kind(value)
            except values.UnsafeValue:
                continue
    return None


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class _Facts:
    """Index of one call's events by what they mean, built in one pass over them."""

    def __init__(self, linkedid: str, events: list[Event]) -> None:
        self.linkedid = linkedid
        self.events = sorted(events, key=lambda e: e.at)
        self._first: dict[str, Event] = {}
        self._own: dict[str, Event] = {}
        self._user: dict[str, Event] = {}
        self._verb: dict[str, tuple[int, Event]] = {}
        self._varset: dict[str, Event] = {}
        first, own = self._first, self._own
        for index, event in enumerate(self.events):
            name = event.name
            first.setdefault(name, event)
            if name == QUEUE_LOG:
                verb = event.get("Verb")
                if verb is not None and verb not in self._verb:
                    self._verb[verb] = (index, event)
                continue
            if name not in own and event.get("Uniqueid") == linkedid:
                own[name] = event
            if name == "UserEvent":
                user = event.get("UserEvent")
                if user is not None:
                    self._user.setdefault(user, event)
            elif name == "VarSet":
                variable = event.get("Variable")
                if variable is not None:
                    self._varset[variable] = event
        # The IVR's own reports; a callback's dial report is on a call we placed.
        self.lapor = any(
            user.startswith("Lapor") and user != "LaporCallbackDial" for user in self._user
        )

    def ami(self, name: str, *, own: bool = False) -> Event | None:
        """The first AMI event of this name (``own``: on the caller's channel itself)."""
        return (self._own if own else self._first).get(name)

    def user(self, name: str) -> Event | None:
        return self._user.get(name)

    def verb(self, *verbs: str) -> Event | None:
        """The first queue_log line with one of these verbs."""
        best: tuple[int, Event] | None = None
        for verb in verbs:
            found = self._verb.get(verb)
            if found is not None and (best is None or found[0] < best[0]):
                best = found
        return best[1] if best else None

    def varset(self, variable: str) -> str | None:
        found = self._varset.get(variable)
        return found.get("Value") if found else None


def derive_call(linkedid: str, events: list[Event], short_abandon_seconds: int) -> CallRow:
    """The call row for ``linkedid`` from its events (in any order)."""
    f = _Facts(linkedid, events)
    row = CallRow()
    _caller(f, row)
    _queue(f, row)
    _answer(f, row)
    _exit(f, row)
    _ivr(f, row)
    _cut_off(f, row)
    row.outcome = _outcome(f, row, short_abandon_seconds)
    return row


def _caller(f: _Facts, row: CallRow) -> None:
    newchannel = f.ami("Newchannel", own=True)
    join = f.ami("QueueCallerJoin")
    enter = f.verb("ENTERQUEUE")
    caller = _first(
        join and join.get("CallerIDNum"),
        newchannel and newchannel.get("CallerIDNum"),
        enter and enter.data(2),
    )
    row.caller = national(caller) if caller else caller
    row.caller_name = _first(
        join and join.get("CallerIDName"), newchannel and newchannel.get("CallerIDName")
    )
    row.arrived_at = _first(newchannel and newchannel.at, f.events[0].at if f.events else None)
    hangup = f.ami("Hangup", own=True)
    row.ended_at = hangup.at if hangup else None


def _queue(f: _Facts, row: CallRow) -> None:
    join = f.ami("QueueCallerJoin")
    enter = f.verb("ENTERQUEUE")
    row.queue = _first(join and join.get("Queue"), enter and enter.get("Queue"))
    row.position = as_int(_first(join and join.get("Position"), enter and enter.data(3)))
    row.queue_entered_at = _first(join and join.at, enter and enter.at)


def _answer(f: _Facts, row: CallRow) -> None:
    connect = f.ami("AgentConnect")
    qconnect = f.verb("CONNECT")
    complete = f.ami("AgentComplete")
    qcomplete = f.verb(*COMPLETE_VERBS) or f.verb(*TRANSFER_VERBS)
    qhold, qtalk = (
        completion_figures(qcomplete.verb or "", qcomplete.all_data())
        if qcomplete
        else (None, None)
    )
    row.answered_at = _first(connect and connect.at, qconnect and qconnect.at)
    row.agent = _first(
        connect and connect.get("MemberName"),
        qconnect and qconnect.get("Agent"),
        complete and complete.get("MemberName"),
        qcomplete and qcomplete.get("Agent"),
    )
    row.hold_seconds = as_int(
        _first(
            connect and connect.get("HoldTime"),
            qconnect and qconnect.data(1),
            complete and complete.get("HoldTime"),
            qhold,
        )
    )
    row.talk_seconds = as_int(_first(complete and complete.get("TalkTime"), qtalk))
    if row.answered_at is None and (complete or qcomplete):
        row.answered_at = (complete or qcomplete).at  # type: ignore[union-attr]
    if row.ended_at is None:
        row.ended_at = _first(complete and complete.at, qcomplete and qcomplete.at)


def _exit(f: _Facts, row: CallRow) -> None:
    abandon = f.ami("QueueCallerAbandon")
    qabandon = f.verb("ABANDON")
    if abandon or qabandon:
        row.wait_seconds = as_int(
            _first(abandon and abandon.get("HoldTime"), qabandon and qabandon.data(3))
        )
        row.ended_at = row.ended_at or _first(abandon and abandon.at, qabandon and qabandon.at)
        return
    if row.hold_seconds is not None:
        row.wait_seconds = row.hold_seconds
        return
    qexit = f.verb(*EXIT_VERBS)
    if qexit is not None:
        row.wait_seconds = as_int(qexit.data(EXIT_VERBS[qexit.verb or ""]))
        row.ended_at = row.ended_at or qexit.at
        return
    leave = f.ami("QueueCallerLeave")
    if leave is not None and row.queue_entered_at is not None:
        # app_queue counts whole seconds between time() at join and at leave.
        row.wait_seconds = _epoch(leave.at) - _epoch(row.queue_entered_at)


def _ivr(f: _Facts, row: CallRow) -> None:
    done = f.user("LaporIvrDone")
    ticket = f.user("LaporTicket")
    callback = f.user("LaporCallback")
    newchannel = f.ami("Newchannel", own=True)
    row.ivr_ended_at = done.at if done else None
    # Lines and tickets go back into Asterisk (a callback's Originate): only values of
    # their kind are taken, whatever an event carried.
    row.line = _first_of(
        values.line,
        done and done.get("Line"),
        ticket and ticket.get("Line"),
        f.varset("LAPOR_LINE"),
        newchannel and newchannel.get("Exten"),
    )
    row.category = _first(ticket and ticket.get("Category"), f.varset("LAPOR_CATEGORY"))
    row.urgent = _first(done and done.get("Urgent"), f.varset("LAPOR_URGENT")) == "1"
    row.ticket = _first_of(
        values.ticket,
        ticket and ticket.get("Ticket"),
        callback and callback.get("Ticket"),
        f.varset("LAPOR_TICKET"),
    )


def _cut_off(f: _Facts, row: CallRow) -> None:
    """A restart's cut-off ends a call whose end was never seen, at the restart, unless
    anything of the call happened after it (then the call was alive after all)."""
    mark = f.ami(CUT_OFF)
    if mark is None or row.ended_at is not None:
        return
    if any(e.at > mark.at for e in f.events if e.name != CUT_OFF):
        return
    row.ended_at = mark.at
    row.extra["cut_off"] = True


def _outcome(f: _Facts, row: CallRow, short_abandon_seconds: int) -> str | None:
    if row.answered_at is not None:
        return "answered"
    if f.ami("QueueCallerAbandon") or f.verb("ABANDON"):
        wait = row.wait_seconds or 0
        return "short_abandoned" if wait < short_abandon_seconds else "abandoned"
    left = f.ami("QueueCallerLeave") or f.verb(*EXIT_VERBS)
    if f.user("LaporCallback") or f.verb("EXITWITHKEY"):
        return "callback_requested" if left or row.ended_at else None
    if left:
        return "exit_timeout"
    if row.extra.get("cut_off"):
        return "cut_off"
    if row.queue_entered_at is None and row.ended_at is not None and _inbound(f):
        return "ivr_only"
    return None


def _inbound(f: _Facts) -> bool:
    """A citizen's call: it came in on the trunk, or our IVR reported on it.

    Calls the call center places itself (callbacks) end without a queue too; they are
    not IVR-only hang-ups, so they get no outcome.
    """
    newchannel = f.ami("Newchannel", own=True)
    if newchannel is not None and newchannel.get("Context") in INBOUND_CONTEXTS:
        return True
    return f.lapor


def event_time(fields: dict[str, Any], received_at: datetime) -> datetime:
    """Asterisk's ``Timestamp`` header (manager.conf timestampevents) or the receipt time."""
    stamp = fields.get("Timestamp")
    try:
        return datetime.fromtimestamp(float(stamp), UTC) if stamp else received_at
    except (TypeError, ValueError, OverflowError, OSError):  # not a time, or out of range
        return received_at
