"""Each collector's last report on itself (api/collectors/service.py).

Revision ID: 0020_collector_status
Revises: 0019_report_delivery
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_collector_status"
down_revision: str | None = "0019_report_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collector_status",
        sa.Column("node", sa.String(length=64), primary_key=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ami_connected", sa.Boolean(), nullable=False),
        sa.Column("ami_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("buffered", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("collector_status")
