"""A durable FIFO on local disk (SQLite in WAL mode): events wait here until the API has them.

An event is committed here before any attempt to deliver it, and removed only after the
API answered 200, so a crash or SIGKILL at any point loses nothing that was received and
at worst re-sends a batch (which the API's idempotent ingest ignores).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from api.core.text import json_text
from collector._events import ReceivedEvent


class DiskBuffer:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (not a power cut) without fsync per event.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS rejected (seq INTEGER PRIMARY KEY, body TEXT, why TEXT)"
        )

    def append(self, events: list[ReceivedEvent]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO pending (body) VALUES (?)",
                [(json_text(e.envelope()),) for e in events],
            )

    def peek(self, limit: int, after: int = 0) -> list[tuple[int, str]]:
        """The oldest ``limit`` events past seq ``after``, as (seq, the envelope's JSON text)."""
        rows = self._db.execute(
            "SELECT seq, body FROM pending WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        ).fetchall()
        return [(int(seq), str(body)) for seq, body in rows]

    def remove(self, first: int, last: int) -> None:
        """Remove a delivered batch of ``peek``: its rows are every pending row from its
        first seq to its last (``peek`` takes the lowest seqs past a point, and a row
        added later has a higher seq), so one range deletes it."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM pending WHERE seq BETWEEN ? AND ?", (first, last))

    def reject(self, seq: int, why: str) -> None:
        """Set aside an event the API refuses (422) so it cannot block the queue."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT OR REPLACE INTO rejected SELECT seq, body, ? FROM pending WHERE seq = ?",
                (why, seq),
            )
            self._db.execute("DELETE FROM pending WHERE seq = ?", (seq,))

    def oldest_received_at(self) -> datetime | None:
        """When the oldest pending event was received (None when nothing is pending)."""
        row = self._db.execute("SELECT body FROM pending ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        return datetime.fromisoformat(json.loads(row[0])["received_at"])

    def __len__(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM pending").fetchone()
        return int(count)

    def rejected(self) -> int:
        (count,) = self._db.execute("SELECT count(*) FROM rejected").fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()
