"""Urgent calls: the category darurat, call.urgent and call_hourly.urgent.

No call before this revision was queued as urgent, so existing rows get false and 0.

Revision ID: 0031_urgent_calls
Revises: 0030_callback_hold
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_urgent_calls"
down_revision: str | None = "0030_callback_hold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite stores the category as plain text (no CHECK constraint): nothing to do there.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE complaintcategory ADD VALUE IF NOT EXISTS 'darurat'")
    with op.batch_alter_table("call") as batch:
        batch.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("call_hourly") as batch:
        batch.add_column(sa.Column("urgent", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("call_hourly") as batch:
        batch.drop_column("urgent")
    with op.batch_alter_table("call") as batch:
        batch.drop_column("urgent")
    # PostgreSQL can't drop one enum value: emergencies are kept, filed under lainnya.
    op.execute("UPDATE complaint SET category = 'lainnya' WHERE category = 'darurat'")
