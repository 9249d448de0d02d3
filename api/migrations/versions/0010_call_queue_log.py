"""queue_log lines kept on their call row (``call.queue_log``), not one ``ami_event`` each.

Lines already imported move over: each ``QueueLog`` event's line is rebuilt from its
fields (the import split the line on ``|`` into them, so this is exact). Lines of no call
(agents' changes) leave ``ami_event``: their ``agent_event`` rows stay.

Revision ID: 0010_call_queue_log
Revises: 0003_events
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_call_queue_log"
down_revision: str | None = "0003_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEAD = ("Timestamp", "CallId", "Queue", "Agent", "Verb")


def _line(fields: dict[str, Any]) -> str:
    parts = [str(fields.get(key, "")) for key in _HEAD]
    number = 1
    while f"Data{number}" in fields:
        parts.append(str(fields[f"Data{number}"]))
        number += 1
    return "|".join(parts)


def upgrade() -> None:
    op.add_column("call", sa.Column("queue_log", sa.Text(), nullable=True))
    bind = op.get_bind()
    stored = bind.execute(
        sa.text(
            "SELECT node, linkedid, fields FROM ami_event WHERE name = 'QueueLog' "
            "AND linkedid IS NOT NULL ORDER BY node, linkedid, at, id"
        )
    )
    calls: dict[tuple[str, str], list[str]] = {}
    for node, linkedid, raw in stored:
        lines = calls.setdefault((node, linkedid), [])
        line = _line(dict(json.loads(raw) if isinstance(raw, str) else raw))
        if line not in lines:
            lines.append(line)
    if calls:
        bind.execute(
            sa.text("UPDATE call SET queue_log = :lines WHERE node = :node AND linkedid = :call"),
            [{"node": n, "call": c, "lines": "\n".join(lines)} for (n, c), lines in calls.items()],
        )
    bind.execute(sa.text("DELETE FROM ami_event WHERE name = 'QueueLog'"))


def downgrade() -> None:
    bind = op.get_bind()
    rows = []
    stored = bind.execute(
        sa.text("SELECT node, linkedid, queue_log FROM call WHERE queue_log IS NOT NULL")
    )
    for node, linkedid, text in stored:
        for line in str(text).split("\n"):
            parts = line.split("|")
            fields = dict(zip(_HEAD, parts, strict=False))
            fields.update({f"Data{i - 4}": parts[i] for i in range(5, len(parts))})
            at = datetime.fromtimestamp(int(parts[0]), UTC)
            rows.append(
                {
                    "id": f"ql:{node}:{blake2b(line.encode(), digest_size=16).hexdigest()}",
                    "node": node,
                    "at": at,
                    "linkedid": linkedid,
                    "fields": json.dumps(fields),
                }
            )
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO ami_event (id, node, name, at, received_at, linkedid, fields) "
                "VALUES (:id, :node, 'QueueLog', :at, :at, :linkedid, :fields)"
            ),
            rows,
        )
    op.drop_column("call", "queue_log")
