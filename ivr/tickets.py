"""Ticket numbers: digits only, 8 long, unique across nodes, never reused.

A ticket is the node id (2 digits, 10-99) followed by a 6-digit sequence kept in a
counter file on the node's spool. The counter is read, incremented, written and fsync'd
under an exclusive ``flock``, so the FastAGI server and classic AGI processes on the same
node share it safely, and a crash never hands out a number twice. The IVR issues the
ticket itself, so the caller hears it even while the API is down.

The counter must never fall behind what the API holds, or a ticket is issued twice (a
lost spool starts it again at 1). The node's lease (ivr/node_lease.py) raises it to the
API's highest ticket of this node at start-up and at every renewal: ``raise_to``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ivr.durable import fsync_dir

SEQUENCE_DIGITS = 6
MAX_SEQUENCE = 10**SEQUENCE_DIGITS - 1


class TicketsExhausted(RuntimeError):
    """This node has issued all 999,999 numbers; give it a new node id."""


class TicketIssuer:
    def __init__(self, spool_dir: Path, node_id: int) -> None:
        if not 10 <= node_id <= 99:
            raise ValueError(f"node id must be 10-99, not {node_id}")
        self.node_id = node_id
        self.counter = spool_dir / f"ticket-sequence-{node_id}"

    def issue(self) -> str:
        """The next ticket number (blocking file I/O: a few milliseconds)."""
        fd = self._open()
        try:
            sequence = _read(fd) + 1
            if sequence > MAX_SEQUENCE:
                raise TicketsExhausted(f"node {self.node_id} has no ticket numbers left")
            _write(fd, sequence)
        finally:
            os.close(fd)  # also releases the lock
        return f"{self.node_id:02d}{sequence:0{SEQUENCE_DIGITS}d}"

    def raise_to(self, ticket: str | None) -> int:
        """Make sure the next ticket comes after ``ticket`` (this node's, from the API);
        returns the counter's value. Never lowers it. Blocking, like ``issue``."""
        floor = self.sequence_of(ticket) if ticket else 0
        fd = self._open()
        try:
            current = _read(fd)
            if floor > current:
                _write(fd, floor)
                return floor
            return current
        finally:
            os.close(fd)

    def sequence_of(self, ticket: str) -> int:
        """The sequence part of one of this node's tickets; ValueError for another's."""
        prefix = f"{self.node_id:02d}"
        if len(ticket) != 2 + SEQUENCE_DIGITS or not ticket.isdigit():
            raise ValueError(f"not a ticket: {ticket!r}")
        if not ticket.startswith(prefix):
            raise ValueError(f"ticket {ticket} is not node {self.node_id}'s")
        return int(ticket[2:])

    def _open(self) -> int:
        """The counter file, open and exclusively locked (the caller closes it)."""
        self.counter.parent.mkdir(parents=True, exist_ok=True)
        created = not self.counter.exists()
        fd = os.open(self.counter, os.O_RDWR | os.O_CREAT, 0o660)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if created:
                fsync_dir(self.counter.parent)  # the new file's name survives a crash too
        except BaseException:
            os.close(fd)
            raise
        return fd


def _read(fd: int) -> int:
    text = os.pread(fd, 32, 0).decode().strip()
    return int(text) if text else 0


def _write(fd: int, sequence: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{sequence}\n".encode(), 0)
    os.fsync(fd)
