"""Photos and documents attached to a complaint (api/complaints/attachments.py).

Revision ID: 0022_complaint_attachment
Revises: 0021_supervision_log
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_complaint_attachment"
down_revision: str | None = "0021_supervision_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaint.id"), nullable=False),
        sa.Column("history_id", sa.Integer(), sa.ForeignKey("complaint_history.id"), nullable=True),
        sa.Column("original_name", sa.String(length=120), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stored_name"),
    )
    op.create_index(
        "ix_complaint_attachment_complaint_id", "complaint_attachment", ["complaint_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_complaint_attachment_complaint_id", table_name="complaint_attachment")
    op.drop_table("complaint_attachment")
