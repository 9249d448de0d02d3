"""Synthetic AMI events and matching queue_log lines for whole calls, as Asterisk 22 sends."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

_seq = itertools.count(1)


def ami(name: str, at: datetime, node: str = "cc1", **fields: str) -> dict[str, Any]:
    """One envelope as the collector posts it."""
    return {
        "id": f"{node}-{uuid.uuid4().hex}",
        "node": node,
        "received_at": at.isoformat(),
        "name": name,
        "fields": {"Event": name, "Timestamp": f"{at.timestamp():.6f}", **fields},
    }


@dataclass
class FakeCall:
    """A caller's call; ``events`` are its AMI events, ``queue_log`` its queue_log lines."""

    caller: str
    at: datetime
    outcome: str  # answered | abandoned | ivr_only | callback | exit_timeout
    wait: int = 0
    talk: int = 3
    ivr: int = 4
    agent: str = "petugas-1001"
    category: str | None = None
    ticket: str | None = None
    line: str = "082282204761"
    node: str = "cc1"
    urgent: bool = False  # queued ahead of everyone (the dialplan's LaporIvrDone Urgent: 1)
    uniqueid: str = field(default_factory=lambda: f"1795890000.{next(_seq)}")
    events: list[dict[str, Any]] = field(default_factory=list)
    queue_log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._build()

    def _e(self, name: str, offset: float, **fields: str) -> None:
        snapshot = {
            "Channel": f"PJSIP/callcenter-{self.uniqueid}",
            "Uniqueid": self.uniqueid,
            "Linkedid": self.uniqueid,
            "CallerIDNum": self.caller,
            "CallerIDName": "Warga",
        }
        self.events.append(
            ami(name, self.at + timedelta(seconds=offset), self.node, **{**snapshot, **fields})
        )

    def _q(self, offset: float, agent: str, verb: str, *data: object) -> None:
        epoch = int((self.at + timedelta(seconds=offset)).timestamp())
        self.queue_log.append(
            "|".join([str(epoch), self.uniqueid, "pengaduan", agent, verb, *map(str, data)])
        )

    def _build(self) -> None:
        self._e("Newchannel", 0, Exten=self.line, Context="from-trunk")
        if self.category:
            self._e(
                "UserEvent",
                2,
                UserEvent="LaporTicket",
                Ticket=self.ticket or "",
                Category=self.category,
                Line=self.line,
            )
        if self.outcome == "ivr_only":
            self._e("Hangup", 2, Cause="16")
            return
        joined = self.ivr
        self._e(
            "UserEvent",
            joined,
            UserEvent="LaporIvrDone",
            Line=self.line,
            Status="OK",
            Urgent="1" if self.urgent else "",
        )
        self._e("QueueCallerJoin", joined, Queue="pengaduan", Position="1", Count="1")
        self._q(joined, "NONE", "ENTERQUEUE", "", self.caller, 1)
        left = joined + self.wait
        if self.outcome == "answered":
            self._e("AgentCalled", left - 1, Queue="pengaduan", MemberName=self.agent)
            self._e(
                "AgentConnect",
                left,
                Queue="pengaduan",
                MemberName=self.agent,
                HoldTime=str(self.wait),
                RingTime="1",
            )
            self._q(left, self.agent, "CONNECT", self.wait, f"{self.uniqueid}9", 1)
            self._e("QueueCallerLeave", left, Queue="pengaduan", Position="1", Count="0")
            end = left + self.talk
            self._e(
                "AgentComplete",
                end,
                Queue="pengaduan",
                MemberName=self.agent,
                HoldTime=str(self.wait),
                TalkTime=str(self.talk),
                Reason="agent",
            )
            self._q(end, self.agent, "COMPLETEAGENT", self.wait, self.talk, 1)
            self._e("Hangup", end, Cause="16")
        elif self.outcome == "abandoned":
            self._e(
                "QueueCallerAbandon",
                left,
                Queue="pengaduan",
                Position="1",
                OriginalPosition="1",
                HoldTime=str(self.wait),
            )
            self._q(left, "NONE", "ABANDON", 1, 1, self.wait)
            self._e("QueueCallerLeave", left, Queue="pengaduan", Position="1", Count="0")
            self._e("Hangup", left, Cause="16")
        elif self.outcome == "callback":
            self._e(
                "UserEvent",
                left,
                UserEvent="LaporCallback",
                Ticket=self.ticket or "",
                Number=self.caller,
                QueueEntered=str(int(self.at.timestamp()) + joined),
            )
            self._e("QueueCallerLeave", left, Queue="pengaduan", Position="1", Count="0")
            self._q(left, "NONE", "EXITWITHKEY", 1, 1, 1, self.wait)
            self._e("Hangup", left + 5, Cause="16")
        elif self.outcome == "exit_timeout":
            self._e("QueueCallerLeave", left, Queue="pengaduan", Position="1", Count="0")
            self._q(left, "NONE", "EXITWITHTIMEOUT", 1, 1, self.wait)
            self._e("Hangup", left, Cause="16")


def member(
    name: str, at: datetime, agent: str = "petugas-1001", node: str = "cc1", **fields: str
) -> dict[str, Any]:
    """A QueueMember* event for ``agent``."""
    return ami(
        name,
        at,
        node,
        Queue="pengaduan",
        MemberName=agent,
        Interface=f"PJSIP/{agent[-4:]}",
        **fields,
    )


T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # 10:00 in Asia/Jakarta
