"""Recorded conversations (call_recording) and the audit of recording playbacks
(recording_access).

Revision ID: 0025_call_recording
Revises: 0024_browser_phone_credential
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_call_recording"
down_revision: str | None = "0024_browser_phone_credential"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recording",
        sa.Column("node", sa.String(length=64), primary_key=True),
        sa.Column("linkedid", sa.String(length=64), primary_key=True),
        sa.Column("file", sa.String(length=96), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "recording_access",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=140), nullable=False),
        sa.Column("file", sa.String(length=128), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
    )
    op.create_index("ix_recording_access_at", "recording_access", ["at"])


def downgrade() -> None:
    op.drop_index("ix_recording_access_at", table_name="recording_access")
    op.drop_table("recording_access")
    op.drop_table("call_recording")
