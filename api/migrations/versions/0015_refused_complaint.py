"""Refused complaints: kept for a supervisor to re-file (api/complaints/refused.py).

Revision ID: 0015_refused_complaint
Revises: 0014_ivr_node_lease
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_refused_complaint"
down_revision: str | None = "0014_ivr_node_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refused_complaint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("line", sa.String(length=32), nullable=True),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refiled_ticket", sa.String(length=8), nullable=True),
        sa.Column("refiled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refiled_by", sa.String(length=100), nullable=True),
        sa.Column("notified", sa.String(length=16), nullable=True),
        sa.UniqueConstraint("ticket", "uniqueid", name="uq_refused_complaint_call"),
    )
    op.create_index("ix_refused_complaint_ticket", "refused_complaint", ["ticket"])
    op.create_index("ix_refused_complaint_received_at", "refused_complaint", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_refused_complaint_received_at", table_name="refused_complaint")
    op.drop_index("ix_refused_complaint_ticket", table_name="refused_complaint")
    op.drop_table("refused_complaint")
