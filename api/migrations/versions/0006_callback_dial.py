"""Callback dialling: claims, attempts and outcomes per callback item.

Revision ID: 0006_callback_dial
Revises: 0002_complaints
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_callback_dial"
down_revision: str | None = "0002_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_dial",
        sa.Column("callback_id", sa.String(length=24), primary_key=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("dialled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_callback_dial_number", "callback_dial", ["number"])
    op.create_index("ix_callback_dial_channel_id", "callback_dial", ["channel_id"])


def downgrade() -> None:
    op.drop_index("ix_callback_dial_channel_id", table_name="callback_dial")
    op.drop_index("ix_callback_dial_number", table_name="callback_dial")
    op.drop_table("callback_dial")
