"""AMI events, derived calls, agent state changes, ringing agents and hourly KPI rollups.

Revision ID: 0003_events
Revises: 0001_auth
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_events"
down_revision: str | None = "0001_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def _str(name: str, length: int, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ami_event",
        _str("id", 120, False),
        _str("node", 64, False),
        _str("name", 64, False),
        sa.Column("at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        _str("linkedid", 64),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ami_event_call", "ami_event", ["node", "linkedid"])
    op.create_table(
        "call",
        sa.Column("id", sa.Integer(), primary_key=True),
        _str("node", 64, False),
        _str("linkedid", 64, False),
        _str("caller", 64),
        _str("caller_name", 128),
        _str("line", 32),
        _str("queue", 64),
        sa.Column("position", sa.Integer(), nullable=True),
        *(
            sa.Column(name, TS, nullable=True)
            for name in (
                "arrived_at",
                "ivr_ended_at",
                "queue_entered_at",
                "answered_at",
                "ended_at",
            )
        ),
        *(
            sa.Column(name, sa.Integer(), nullable=True)
            for name in ("hold_seconds", "wait_seconds", "talk_seconds")
        ),
        _str("agent", 128),
        _str("category", 32),
        _str("ticket", 32),
        _str("outcome", 24),
        sa.UniqueConstraint("node", "linkedid", name="uq_call_node_linkedid"),
    )
    op.create_index("ix_call_queue_entered_at", "call", ["queue_entered_at"])
    op.create_table(
        "agent_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        _str("node", 64, False),
        _str("agent", 128, False),
        _str("queue", 64, False),
        _str("kind", 16, False),
        sa.Column("at", TS, nullable=False),
        _str("reason", 128),
        sa.UniqueConstraint("node", "agent", "queue", "kind", "at", name="uq_agent_event"),
    )
    op.create_index("ix_agent_event_at", "agent_event", ["at"])
    op.create_table(
        "agent_ring",
        _str("node", 64, False),
        _str("agent", 128, False),
        _str("linkedid", 64),
        sa.Column("ringing", sa.Boolean(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("node", "agent"),
    )
    op.create_table(
        "call_hourly",
        sa.Column("hour", TS, nullable=False),
        _str("queue", 64, False),
        _str("category", 32, False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "offered",
                "answered",
                "abandoned",
                "short_abandoned",
                "exit_timeout",
                "callback_requested",
                "answered_in_sl",
                "abandoned_in_sl",
                "hold_sum",
                "talk_sum",
                "max_wait",
            )
        ),
        sa.PrimaryKeyConstraint("hour", "queue", "category"),
    )


def downgrade() -> None:
    op.drop_table("call_hourly")
    op.drop_table("agent_ring")
    op.drop_index("ix_agent_event_at", table_name="agent_event")
    op.drop_table("agent_event")
    op.drop_index("ix_call_queue_entered_at", table_name="call")
    op.drop_table("call")
    op.drop_index("ix_ami_event_call", table_name="ami_event")
    op.drop_table("ami_event")
