"""Post-call survey ratings (survey_rating): one per call, by its linkedid.

Revision ID: 0032_survey_rating
Revises: 0031_urgent_calls
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_survey_rating"
down_revision: str | None = "0031_urgent_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("linkedid", sa.String(length=64), nullable=False, unique=True),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_survey_rating_rated_at", "survey_rating", ["rated_at"])


def downgrade() -> None:
    op.drop_index("ix_survey_rating_rated_at", table_name="survey_rating")
    op.drop_table("survey_rating")
