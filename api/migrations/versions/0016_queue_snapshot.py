"""Queue snapshots: each node's latest QueueStatus answer, for the live view; and the
index the live view uses to see whether an officer's call ended since a snapshot.

Revision ID: 0016_queue_snapshot
Revises: 0015_refused_complaint
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_queue_snapshot"
down_revision: str | None = "0015_refused_complaint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_snapshot",
        sa.Column("node", sa.String(length=64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
    )
    op.create_index("ix_call_agent_ended_at", "call", ["agent", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_call_agent_ended_at", table_name="call")
    op.drop_table("queue_snapshot")
