"""Users, login attempts and API tokens with roles.

Revision ID: 0001_auth
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_auth"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("agent", "supervisor", "leadership", "unit", "admin", "ivr", "collector")


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.Enum(*ROLES, name="role"), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=True),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_app_user_username", "app_user", ["username"], unique=True)
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_login_attempt_username", "login_attempt", ["username"])
    op.create_index("ix_login_attempt_at", "login_attempt", ["at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.Enum(*ROLES, name="role"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_token_token_hash", "api_token", ["token_hash"], unique=True)
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_index("ix_api_token_token_hash", table_name="api_token")
    op.drop_table("api_token")
    op.drop_index("ix_login_attempt_at", table_name="login_attempt")
    op.drop_index("ix_login_attempt_username", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_index("ix_app_user_username", table_name="app_user")
    op.drop_table("app_user")
    sa.Enum(name="role").drop(op.get_bind(), checkfirst=True)
