"""call_hourly.completed: answered calls whose talk has ended (AHT's denominator).

Existing rollup rows are counted from their calls.

Revision ID: 0011_hourly_completed
Revises: 0010_call_queue_log
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_hourly_completed"
down_revision: str | None = "0010_call_queue_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "call_hourly",
        sa.Column("completed", sa.Integer(), nullable=False, server_default="0"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    hour_end = "h.hour + interval '1 hour'" if postgres else "datetime(h.hour, '+1 hour')"
    op.execute(
        "UPDATE call_hourly AS h SET completed = (SELECT count(*) FROM call AS c "
        "WHERE c.outcome = 'answered' AND c.talk_seconds IS NOT NULL "
        f"AND c.queue_entered_at >= h.hour AND c.queue_entered_at < {hour_end} "
        "AND coalesce(c.queue, '') = h.queue AND coalesce(c.category, '') = h.category)"
    )


def downgrade() -> None:
    op.drop_column("call_hourly", "completed")
