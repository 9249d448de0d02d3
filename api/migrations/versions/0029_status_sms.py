"""SMS to citizens about their complaint's status (status_sms), and the numbers that
replied STOP (sms_opt_out).

Revision ID: 0029_status_sms
Revises: 0027_blocklist
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_status_sms"
down_revision: str | None = "0027_blocklist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "status_sms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "history_id",
            sa.Integer(),
            sa.ForeignKey("complaint_history.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("ticket", sa.String(length=8), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_status_sms_ticket", "status_sms", ["ticket"])
    op.create_index("ix_status_sms_state", "status_sms", ["state"])
    op.create_table(
        "sms_opt_out",
        sa.Column("number", sa.String(length=32), primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_out")
    op.drop_index("ix_status_sms_state", table_name="status_sms")
    op.drop_index("ix_status_sms_ticket", table_name="status_sms")
    op.drop_table("status_sms")
