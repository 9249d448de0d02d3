"""The mayor's daily reports, one per Asia/Jakarta day.

Revision ID: 0009_daily_report
Revises: 0005_complaint_workflow
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_daily_report"
down_revision: str | None = "0005_complaint_workflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_index("ix_daily_report_day", "daily_report", ["day"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_daily_report_day", table_name="daily_report")
    op.drop_table("daily_report")
