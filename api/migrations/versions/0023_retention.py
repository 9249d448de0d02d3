"""Retention of personal data: the purge log, the recordings queued for deletion, the
raw events' watermark, the audit of citizens' requests, and ami_event's (at, id) index.

Revision ID: 0023_retention
Revises: 0022_complaint_attachment
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_retention"
down_revision: str | None = "0022_complaint_attachment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "retention_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("runner", sa.String(length=100), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ, nullable=True),
        sa.Column("numbers_before", TZ, nullable=False),
        sa.Column("recordings_before", TZ, nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
    )
    op.create_table(
        "retention_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("queued_at", TZ, nullable=False),
    )
    op.create_table(
        "retention_mark",
        sa.Column("holder", sa.String(length=64), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
    )
    op.create_table(
        "citizen_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
    )
    op.create_index("ix_citizen_request_at", "citizen_request", ["at"])
    op.create_index("ix_ami_event_at", "ami_event", ["at", "id"])


def downgrade() -> None:
    op.drop_index("ix_ami_event_at", table_name="ami_event")
    op.drop_index("ix_citizen_request_at", table_name="citizen_request")
    for table in ("citizen_request", "retention_mark", "retention_file", "retention_run"):
        op.drop_table(table)
