"""Complaints taken by the IVR, and callback requests.

Revision ID: 0002_complaints
Revises: 0001_auth
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_complaints"
down_revision: str | None = "0001_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("infrastruktur", "kependudukan", "pelayanan_publik", "lainnya")
STATUSES = ("received", "in_progress", "resolved", "closed")


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket", sa.String(length=8), nullable=False),
        sa.Column("category", sa.Enum(*CATEGORIES, name="complaintcategory"), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("recording_path", sa.String(length=500), nullable=True),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="complaintstatus"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_complaint_ticket", "complaint", ["ticket"], unique=True)
    op.create_table(
        "callback_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=8), nullable=True),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("line", sa.String(length=32), nullable=False),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("queue_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_callback_request_request_id", "callback_request", ["request_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_callback_request_request_id", table_name="callback_request")
    op.drop_table("callback_request")
    op.drop_index("ix_complaint_ticket", table_name="complaint")
    op.drop_table("complaint")
    sa.Enum(name="complaintstatus").drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="complaintcategory").drop(op.get_bind(), checkfirst=True)
