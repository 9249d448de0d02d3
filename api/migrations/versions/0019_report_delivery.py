"""Delivery of the daily report by email and Telegram (api/reports/delivery_record.py).

Revision ID: 0019_report_delivery
Revises: 0018_live_event
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_report_delivery"
down_revision: str | None = "0018_live_event"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("day", "channel", name="uq_report_delivery_day_channel"),
    )
    op.create_index("ix_report_delivery_day", "report_delivery", ["day"])


def downgrade() -> None:
    op.drop_index("ix_report_delivery_day", table_name="report_delivery")
    op.drop_table("report_delivery")
