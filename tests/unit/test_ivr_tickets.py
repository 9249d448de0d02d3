"""Ticket numbers: node prefix, durable sequence, unique across processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from ivr.tickets import TicketIssuer, TicketsExhausted


def test_tickets_are_node_prefixed_eight_digits_and_survive_a_restart(tmp_path: Path) -> None:
    first = TicketIssuer(tmp_path, 42)
    assert [first.issue(), first.issue()] == ["42000001", "42000002"]
    assert TicketIssuer(tmp_path, 42).issue() == "42000003"  # a new process continues
    assert TicketIssuer(tmp_path, 43).issue() == "43000001"  # another node, its own counter


def test_node_ids_that_could_start_with_zero_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="10-99"):
        TicketIssuer(tmp_path, 7)


def test_an_exhausted_node_refuses_instead_of_reusing(tmp_path: Path) -> None:
    issuer = TicketIssuer(tmp_path, 10)
    issuer.counter.write_text("999999\n")
    with pytest.raises(TicketsExhausted):
        issuer.issue()
    assert issuer.counter.read_text() == "999999\n"


def _issue_many(spool: str, count: int) -> list[str]:
    issuer = TicketIssuer(Path(spool), 55)
    return [issuer.issue() for _ in range(count)]


def test_concurrent_processes_never_share_a_ticket(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        batches = pool.starmap(_issue_many, [(str(tmp_path), 50)] * 4)
    tickets = [t for batch in batches for t in batch]
    assert len(set(tickets)) == 200
    assert max(tickets) == "55000200"


def test_the_counter_is_raised_to_the_apis_highest_ticket_never_lowered(tmp_path: Path) -> None:
    issuer = TicketIssuer(tmp_path, 10)
    assert issuer.issue() == "10000001"
    # The spool was lost once: the API holds tickets up to 10000041 from before.
    assert issuer.raise_to("10000041") == 41
    assert issuer.issue() == "10000042"
    assert issuer.raise_to("10000005") == 42  # an older floor changes nothing
    assert issuer.raise_to(None) == 42
    assert issuer.issue() == "10000043"


def test_a_fresh_spool_starts_after_the_floor(tmp_path: Path) -> None:
    issuer = TicketIssuer(tmp_path / "new-spool", 10)
    issuer.raise_to("10000900")
    assert issuer.issue() == "10000901"


def test_another_nodes_ticket_is_no_floor(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="node 10"):
        TicketIssuer(tmp_path, 10).raise_to("11000005")
