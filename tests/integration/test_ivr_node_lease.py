"""``lapor-ivr`` against a real API process: the node id's lease and the ticket floor.

Real processes on both sides (no Asterisk needed: nothing here places a call).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from api.complaints.models import ComplaintCategory, ComplaintCreate, create_complaint
from api.core.auth import Role
from api.core.clock import WorkCalendar
from ivr.tickets import TicketIssuer
from tests.e2e.services import BIN, ApiProcess, free_port, started

NODE = 10


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiProcess]:
    with started(ApiProcess(f"sqlite:///{tmp_path}/lapor.db", tmp_path / "api.log")) as process:
        yield process


class Ivr:
    """One ``lapor-ivr`` process on its own spool and port."""

    def __init__(self, api: ApiProcess, spool: Path, token: str) -> None:
        self.spool = spool
        self.log = spool.parent / f"{spool.name}.log"
        self.env = {
            **os.environ,
            "LAPOR_IVR_API_URL": api.url,
            "LAPOR_IVR_API_TOKEN": token,
            "LAPOR_IVR_SPOOL_DIR": str(spool),
            "LAPOR_IVR_NODE_ID": str(NODE),
            "LAPOR_IVR_LEASE_SECONDS": "5",
            "LAPOR_AGI_PORT": str(free_port()),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Ivr:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "lapor-ivr")], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_serving(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while "FastAGI listening on" not in self.text():
            assert self.running(), self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.1)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_status(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def counter(self) -> str:
        return (self.spool / f"ticket-sequence-{NODE}").read_text().strip()


@pytest.fixture
def ivrs() -> Iterator[list[Ivr]]:
    """The IVR processes a test started, killed after it."""
    started: list[Ivr] = []
    yield started
    for ivr in started:
        ivr.stop(signal.SIGKILL)


def new_ivr(api: ApiProcess, tmp_path: Path, name: str, started: list[Ivr]) -> Ivr:
    ivr = Ivr(api, tmp_path / name, api.token(Role.ivr, name=f"ivr-{name}"))
    started.append(ivr)
    return ivr


def store_complaint(api: ApiProcess, ticket: str) -> None:
    data = ComplaintCreate(
        ticket=ticket,
        category=ComplaintCategory.lainnya,
        caller_number="081200000000",
        line="082282204761",
        uniqueid=f"u-{ticket}",
        taken_at=datetime.now(UTC),
    )
    with Session(api.engine) as session:
        create_complaint(session, data=data, calendar=WorkCalendar([]))


def test_a_second_ivr_with_the_same_node_id_refuses_to_start(
    api: ApiProcess, tmp_path: Path, ivrs: list[Ivr]
) -> None:
    first = new_ivr(api, tmp_path, "spool-a", ivrs).start()
    first.wait_serving()
    second = new_ivr(api, tmp_path, "spool-b", ivrs).start()
    # It retries for one lease TTL (the holder might be a crashed process), then gives up.
    assert second.exit_status() == 2
    assert "refusing to start" in second.text()
    assert "node id 10 is in use" in second.text()
    assert first.running()
    # The same spool is the same node: a restart takes its lease straight back.
    first.stop()
    assert first.exit_status() == 0
    again = new_ivr(api, tmp_path, "spool-a", ivrs).start()
    again.wait_serving()


def test_a_crashed_holders_lease_lapses_and_a_clean_stop_frees_it_at_once(
    api: ApiProcess, tmp_path: Path, ivrs: list[Ivr]
) -> None:
    first = new_ivr(api, tmp_path, "spool-a", ivrs).start()
    first.wait_serving()
    first.stop(signal.SIGKILL)  # no release: the lease lapses after its 5 s
    replacement = new_ivr(api, tmp_path, "spool-b", ivrs).start()
    replacement.wait_serving(timeout=30)
    assert "waiting up to" in replacement.text()  # refused until the dead lease lapsed
    replacement.stop()  # SIGTERM: released
    third = new_ivr(api, tmp_path, "spool-c", ivrs).start()
    started = time.monotonic()
    third.wait_serving()
    assert time.monotonic() - started < 4


def test_a_lost_spool_continues_after_the_apis_highest_ticket(
    api: ApiProcess, tmp_path: Path, ivrs: list[Ivr]
) -> None:
    store_complaint(api, "10000041")
    store_complaint(api, "11000077")  # another node's
    fresh = new_ivr(api, tmp_path, "spool-new", ivrs).start()
    fresh.wait_serving()
    assert fresh.counter() == "41"
    # The counter is checked at every renewal too: tickets stored meanwhile (by a node
    # that was lost and replaced, say) raise it.
    store_complaint(api, "10000050")
    deadline = time.monotonic() + 10
    while fresh.counter() != "50":
        assert time.monotonic() < deadline, fresh.text()
        time.sleep(0.2)


def test_a_wiped_spool_issues_tickets_after_every_stored_one(
    api: ApiProcess, tmp_path: Path, ivrs: list[Ivr]
) -> None:
    ivr = new_ivr(api, tmp_path, "spool-a", ivrs).start()
    ivr.wait_serving()
    # Tickets as the IVR issues them (FastAGI and classic AGI share this counter), each
    # delivered to the API as a complaint.
    issued = [TicketIssuer(ivr.spool, NODE).issue() for _ in range(3)]
    for ticket in issued:
        store_complaint(api, ticket)
    ivr.stop()
    assert ivr.exit_status() == 0
    shutil.rmtree(ivr.spool)  # the disk is lost: counter, identity, outbox, all of it
    ivr.log.unlink()  # the restart logs afresh to the same file

    restarted = new_ivr(api, tmp_path, "spool-a", ivrs).start()
    restarted.wait_serving()
    following = TicketIssuer(restarted.spool, NODE).issue()
    assert following == "10000004"
    assert all(following > ticket for ticket in issued)
