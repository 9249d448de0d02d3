"""One line of history: the five branches that grew from 0001 and 0002 meet here.

Revision ID: 0017_one_line
Revises: 0004_jobs, 0006_callback_dial, 0008_sms, 0009_daily_report, 0016_queue_snapshot

No schema change: a database that has every branch applied records this one revision,
and every migration after it has one parent.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0017_one_line"
down_revision: str | Sequence[str] | None = (
    "0004_jobs",
    "0006_callback_dial",
    "0008_sms",
    "0009_daily_report",
    "0016_queue_snapshot",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
