"""The browser phones' issued credentials (never their passwords), so the sweep can revoke
one whose console session ended without a sign-out.

Revision ID: 0024_browser_phone_credential
Revises: 0023_retention
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_browser_phone_credential"
down_revision: str | None = "0023_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "browser_phone_credential",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("token_id", sa.Integer(), sa.ForeignKey("api_token.id"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("endpoint"),
    )
    op.create_index("ix_browser_phone_credential_user_id", "browser_phone_credential", ["user_id"])
    op.create_index(
        "ix_browser_phone_credential_token_id", "browser_phone_credential", ["token_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_browser_phone_credential_token_id", table_name="browser_phone_credential")
    op.drop_index("ix_browser_phone_credential_user_id", table_name="browser_phone_credential")
    op.drop_table("browser_phone_credential")
