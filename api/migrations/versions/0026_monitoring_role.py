"""The monitoring role: service tokens that may read ``GET /metrics`` and nothing else.

Revision ID: 0026_monitoring_role
Revises: 0025_call_recording
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0026_monitoring_role"
down_revision: str | None = "0025_call_recording"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite stores the role as plain text (no CHECK constraint): nothing to do there.
    if op.get_bind().dialect.name == "postgresql":
        # As 0008 did for gateway: allowed in a transaction on PostgreSQL >= 12.
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'monitoring'")


def downgrade() -> None:
    # PostgreSQL can't drop one enum value; monitoring tokens go, the unused value stays.
    op.execute("DELETE FROM api_token WHERE role = 'monitoring'")
