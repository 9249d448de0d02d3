"""Ticket numbers: digits only, 8 long, unique across nodes, never reused.

A ticket is the node id (2 digits, 10-99) followed by a 6-digit sequence kept in a
counter file on the node's spool. The counter is read, incremented, written and fsync'd
under an exclusive ``flock``, so the FastAGI server and classic AGI processes on the same
node share it safely, and a crash never hands out a number twice. The IVR issues the
ticket itself, so the caller hears it even while the API is down.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

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
        self.counter.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.counter, os.O_RDWR | os.O_CREAT, 0o660)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.pread(fd, 32, 0).decode().strip()
            sequence = (int(text) if text else 0) + 1
            if sequence > MAX_SEQUENCE:
                raise TicketsExhausted(f"node {self.node_id} has no ticket numbers left")
            data = f"{sequence}\n".encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        finally:
            os.close(fd)  # also releases the lock
        return f"{self.node_id:02d}{sequence:0{SEQUENCE_DIGITS}d}"
