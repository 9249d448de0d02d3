"""Virtual hold: the dialer's state of each callback request (placeholder, retries, SMS).

Revision ID: 0030_callback_hold
Revises: 0029_status_sms
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_callback_hold"
down_revision: str | None = "0029_status_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_hold",
        sa.Column("callback_id", sa.String(length=24), primary_key=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("placeholder", sa.String(length=64), nullable=True),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.String(length=16), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sms_error", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_callback_hold_placeholder", "callback_hold", ["placeholder"])


def downgrade() -> None:
    op.drop_index("ix_callback_hold_placeholder", table_name="callback_hold")
    op.drop_table("callback_hold")
