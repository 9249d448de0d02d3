"""For the KPI e2e tests: the collector as a process, and KPIs computed from queue_log alone.

``QueueLogTruth`` is deliberately independent of ``api/``: it reads Asterisk's own file and
applies the KPI definitions of docs/asterisk.md with plain Python.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from api.core.auth import Role
from sandbox.harness import Sandbox
from tests.e2e.services import BIN, ApiProcess, free_port

NODE = "callcenter"
CALL_VERBS_END = (
    "COMPLETECALLER",
    "COMPLETEAGENT",
    "ABANDON",
    "EXITWITHTIMEOUT",
    "EXITWITHKEY",
    "EXITEMPTY",
)


class CollectorProcess:
    """``lapor-collector`` for the sandbox's call center, posting to ``api``."""

    def __init__(self, sandbox: Sandbox, api: ApiProcess, folder: Path) -> None:
        self.folder = folder
        self.log_path = folder / "collector.log"
        self.env = {
            **os.environ,
            "LAPOR_COLLECTOR_NODE": NODE,
            "LAPOR_COLLECTOR_AMI_PORT": str(sandbox.config.ami_port),
            "LAPOR_COLLECTOR_AMI_USER": "collector",
            "LAPOR_COLLECTOR_AMI_SECRET": sandbox.secrets.collector,
            "LAPOR_COLLECTOR_API_URL": api.url,
            "LAPOR_COLLECTOR_API_TOKEN": api.token(Role.collector, name="e2e-collector"),
            "LAPOR_COLLECTOR_BUFFER_DIR": str(folder / "buffer"),
            "LAPOR_COLLECTOR_BACKOFF_MAX": "2",
            "LAPOR_COLLECTOR_PING_INTERVAL": "2",
            # Reconciles after a reconnect, not at the first login: this API's database
            # holds only the test's own calls.
            "LAPOR_COLLECTOR_QUEUE_LOG": str(sandbox.callcenter.queue_log),
            "LAPOR_COLLECTOR_RECONCILE_SECONDS": "0",
            # Its probe listener apart from any other collector's (tests run side by side).
            "LAPOR_COLLECTOR_METRICS_PORT": str(free_port()),
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        logins = self.log_path.read_text().count("logged in") if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(BIN / "lapor-collector")], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while self.log_path.read_text().count("logged in") <= logins:
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"collector did not log in:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye; only the disk buffer survives."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


@contextmanager
def running_collector(
    sandbox: Sandbox, api: ApiProcess, folder: Path
) -> Iterator[CollectorProcess]:
    """A started collector posting to ``api``, stopped afterwards."""
    process = CollectorProcess(sandbox, api, folder)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@dataclass
class QueueLogTruth:
    """The KPIs of a set of calls (by uniqueid) straight from queue_log lines.

    queue_log does not record a caller's queue priority: ``urgent`` are the calls the test
    itself made urgent (an emergency at the IVR's category menu).
    """

    lines: list[list[str]]
    uniqueids: set[str]
    urgent: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, path: Path, uniqueids: set[str], urgent: set[str] | None = None) -> QueueLogTruth:
        lines = [line.split("|") for line in path.read_text().splitlines()]
        return cls(lines, uniqueids, urgent or set())

    def verbs(self, *verbs: str) -> list[list[str]]:
        return [f for f in self.lines if len(f) > 4 and f[1] in self.uniqueids and f[4] in verbs]

    def finished(self) -> set[str]:
        return {f[1] for f in self.verbs(*CALL_VERBS_END)}

    def summary(self, short: int = 5, sl: int = 20) -> dict[str, Any]:
        offered = len(self.verbs("ENTERQUEUE"))
        holds = [int(f[5]) for f in self.verbs("CONNECT")]
        talks = [int(f[6]) for f in self.verbs("COMPLETECALLER", "COMPLETEAGENT")]
        abandons = [int(f[7]) for f in self.verbs("ABANDON")]
        exits = [int(f[7]) for f in self.verbs("EXITWITHTIMEOUT", "EXITEMPTY")]
        exits += [int(f[8]) for f in self.verbs("EXITWITHKEY")]
        long_ab = [w for w in abandons if w >= short]
        short_ab = [w for w in abandons if w < short]
        in_sl = sum(1 for h in holds if h <= sl)
        ab_in_sl = sum(1 for w in long_ab if w <= sl)
        answered = len(holds)
        return {
            "offered": offered,
            "answered": answered,
            "abandoned": len(long_ab),
            "short_abandoned": len(short_ab),
            "abandon_rate_pct": _pct(len(long_ab), offered - len(short_ab)),
            "sl_pct": _pct(in_sl, answered),
            "sl2_pct": _pct(in_sl + ab_in_sl, answered + len(long_ab)),
            "asa_seconds": round(sum(holds) / answered, 2) if answered else None,
            # Over calls whose talk ended: a call cut off by a crash has no COMPLETE line.
            "aht_seconds": round(sum(talks) / len(talks), 2) if talks else None,
            "max_wait": max(holds + abandons + exits, default=0),
            "urgent": len({f[1] for f in self.verbs("ENTERQUEUE")} & self.urgent),
        }

    def _rings(self) -> tuple[dict[str, int], dict[str, int]]:
        """When each call entered the queue, and when an officer began ringing for it: at
        CONNECT's time less its ring time (data 3)."""
        entered = {f[1]: int(f[0]) for f in self.verbs("ENTERQUEUE")}
        rang = {f[1]: int(f[0]) - int(f[7]) for f in self.verbs("CONNECT") if len(f) > 7}
        return entered, rang

    def joined_behind(self) -> list[str]:
        """Urgent calls that joined behind an ordinary caller: ENTERQUEUE's position (data
        3) is more than 1 + the urgent calls then waiting (entered, not yet rung for).

        Not "rung for before an ordinary caller": with two officers free app_queue rings
        for the first two callers at once, and either may get the officer free first.
        """
        entered, rang = self._rings()
        behind = []
        for f in self.verbs("ENTERQUEUE"):
            if f[1] not in self.urgent:
                continue
            at = int(f[0])
            waiting = [
                u for u in self.urgent - {f[1]} if entered.get(u, at + 1) <= at <= rang.get(u, at)
            ]
            if int(f[7]) > 1 + len(waiting):
                behind.append(f[1])
        return behind

    def overtakes(self) -> list[tuple[str, str]]:
        """(urgent, ordinary) pairs where the urgent call joined after the ordinary one and
        was rung for before it: the priority at work."""
        entered, rang = self._rings()
        return [
            (urgent, call)
            for urgent in self.urgent & rang.keys()
            for call in rang.keys() - self.urgent
            if entered[call] < entered[urgent] and rang[urgent] < rang[call]
        ]

    def agents(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """Per member name: calls, talk, AHT, login and pause seconds in [lo, hi), occupancy."""
        answered: dict[str, int] = defaultdict(int)
        for f in self.verbs("CONNECT"):
            answered[f[3]] += 1
        calls: dict[str, list[int]] = defaultdict(list)
        for f in self.verbs("COMPLETECALLER", "COMPLETEAGENT"):
            calls[f[3]].append(int(f[6]))
        changes: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for f in self.lines:
            if (
                len(f) > 4
                and f[4] in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE")
                and int(f[0]) < hi
            ):
                changes[f[3]].append((int(f[0]), f[4]))
        out = []
        for agent in sorted(set(answered) | set(changes)):
            login = _seconds(changes[agent], "ADDMEMBER", "REMOVEMEMBER", lo, hi)
            paused = _seconds(changes[agent], "PAUSE", "UNPAUSE", lo, hi)
            talk = sum(calls[agent])
            ended = len(calls[agent])
            out.append(
                {
                    "agent": agent,
                    "calls": answered[agent],
                    "talk_seconds": talk,
                    "aht_seconds": round(talk / ended, 2) if ended else None,
                    "login_seconds": login,
                    "pause_seconds": paused,
                    "occupancy_pct": _pct(talk, login - paused) if login > paused else None,
                }
            )
        return out


def _pct(num: int, den: int) -> float | None:
    return round(100 * num / den, 2) if den else None


def _seconds(changes: list[tuple[int, str]], on: str, off: str, lo: int, hi: int) -> int:
    total, since = 0, None
    for at, verb in sorted(changes, key=lambda change: change[0]):  # stable: file order
        if verb == on and since is None:
            since = at
        elif verb in (off, "REMOVEMEMBER") and since is not None:
            total += max(0, min(at, hi) - max(since, lo))
            since = None
    if since is not None:
        total += max(0, hi - max(since, lo))
    return total


def api_get(api: ApiProcess, path: str, token: str, **params: Any) -> Any:
    response = httpx.get(
        f"{api.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def assert_api_equals_truth(
    api: ApiProcess, truth: QueueLogTruth, start: int, end: int, agents: Collection[str]
) -> None:
    """The API's /stats/summary and /stats/agents rows of ``agents`` over [start, end)
    equal those computed from queue_log."""
    supervisor = api.token(Role.supervisor)
    window = {"from": iso(start), "to": iso(end)}
    summary = api_get(api, "/stats/summary", supervisor, **window)
    want = truth.summary()
    assert {k: summary[k] for k in want} == want
    rows = [a for a in api_get(api, "/stats/agents", supervisor, **window) if a["agent"] in agents]
    assert rows == [a for a in truth.agents(start, end) if a["agent"] in agents]
