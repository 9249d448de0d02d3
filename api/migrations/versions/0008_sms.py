"""SMS: the gateway role, SMS ticket counters and the intake used to spot retransmissions.

Revision ID: 0008_sms
Revises: 0005_complaint_workflow
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sms"
down_revision: str | None = "0005_complaint_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL >= 12 allows this inside a transaction (api.core.migrate holds one, with
        # the migration lock); the new value is only unusable until that commits.
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'gateway'")
    op.create_table(
        "sms_ticket_counter",
        sa.Column("prefix", sa.String(length=2), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "sms_intake",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("ticket", sa.String(length=8), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sender", "text_hash", "bucket", name="uq_sms_intake_key"),
    )
    op.create_index("ix_sms_intake_ticket", "sms_intake", ["ticket"], unique=True)
    op.create_index("ix_sms_intake_received_at", "sms_intake", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_intake_received_at", table_name="sms_intake")
    op.drop_index("ix_sms_intake_ticket", table_name="sms_intake")
    op.drop_table("sms_intake")
    op.drop_table("sms_ticket_counter")
    # PostgreSQL can't drop one enum value; gateway tokens go, the unused value stays.
    op.execute("DELETE FROM api_token WHERE role = 'gateway'")
