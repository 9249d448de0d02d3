"""Login attempts are counted per username and client address.

Revision ID: 0013_login_client
Revises: 0012_linkedid_first
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_login_client"
down_revision: str | None = "0012_linkedid_first"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows from before have no address: "" (they age out within one lock-out window).
    with op.batch_alter_table("login_attempt") as batch:  # SQLite rebuilds the table
        batch.add_column(
            sa.Column("client", sa.String(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("login_attempt") as batch:
        batch.alter_column("client", server_default=None)
    op.drop_index("ix_login_attempt_username", table_name="login_attempt")
    op.create_index("ix_login_attempt_key", "login_attempt", ["username", "client", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_attempt_key", table_name="login_attempt")
    op.create_index("ix_login_attempt_username", "login_attempt", ["username"])
    with op.batch_alter_table("login_attempt") as batch:
        batch.drop_column("client")
