"""Live events: the log the officers' consoles are pushed from (api/live).

Revision ID: 0018_live_event
Revises: 0017_one_line
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_live_event"
down_revision: str | None = "0017_one_line"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("topic", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_live_event_topic_id", "live_event", ["topic", "id"])
    op.create_index("ix_live_event_at", "live_event", ["at"])


def downgrade() -> None:
    op.drop_index("ix_live_event_at", table_name="live_event")
    op.drop_index("ix_live_event_topic_id", table_name="live_event")
    op.drop_table("live_event")
