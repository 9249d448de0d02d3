"""Every listen, whisper and barge by a supervisor (api/supervision/log.py).

Revision ID: 0021_supervision_log
Revises: 0020_collector_status
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_supervision_log"
down_revision: str | None = "0020_collector_status"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supervisor", sa.String(length=128), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
    )
    op.create_index("ix_supervision_log_at", "supervision_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_supervision_log_at", table_name="supervision_log")
    op.drop_table("supervision_log")
