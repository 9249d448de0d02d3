"""The blocklist (blocked_number), its audit (blocklist_change), and every stored
citizen's number in its national form (0812…).

Revision ID: 0027_blocklist
Revises: 0026_monitoring_role

Numbers are normalised here once, rather than read under every spelling forever: every
reader (a caller's history, callbacks' "reached since", SMS dedup, the blocklist) then
compares plain values, and so does any query written later. The carrier's own spelling
of a number carries nothing worth keeping, so downgrade leaves the national forms. Raw
AMI events and queue_log lines keep the carrier's spelling (the evidence as received);
a call derived again from them is normalised by the derivation itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from asterisk_values.numbers import national

revision: str = "0027_blocklist"
down_revision: str | None = "0026_monitoring_role"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): every column holding a citizen's number as it came in.
NUMBERS = (
    ("call", "caller"),
    ("complaint", "caller_number"),
    ("callback_request", "number"),
    ("callback_dial", "number"),
)


def upgrade() -> None:
    op.create_table(
        "blocked_number",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(length=21), nullable=False, unique=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "blocklist_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=21), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_blocklist_change_at", "blocklist_change", ["at"])
    for table, column in NUMBERS:
        _normalise(table, column)
    _normalise_sms_senders()


def _renames(table: str, column: str) -> list[dict[str, str]]:
    values = op.get_bind().execute(
        sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")
    )
    # In a fixed order, so which of two colliding spellings moves is the same everywhere.
    return [{"old": old, "new": national(old)} for (old,) in sorted(values) if national(old) != old]


def _normalise(table: str, column: str) -> None:
    renames = _renames(table, column)
    if renames:
        op.get_bind().execute(
            sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), renames
        )


def _normalise_sms_senders() -> None:
    """sms_intake is unique on (sender, text hash, bucket): a row that would become a copy
    of another (the same SMS under two spellings) keeps its spelling; both name one
    complaint each, which stay as they are."""
    renames = _renames("sms_intake", "sender")
    if renames:
        op.get_bind().execute(
            sa.text(
                "UPDATE sms_intake SET sender = :new WHERE sender = :old AND NOT EXISTS"
                " (SELECT 1 FROM sms_intake AS other WHERE other.sender = :new"
                " AND other.text_hash = sms_intake.text_hash AND other.bucket = sms_intake.bucket)"
            ),
            renames,
        )


def downgrade() -> None:
    op.drop_index("ix_blocklist_change_at", table_name="blocklist_change")
    op.drop_table("blocklist_change")
    op.drop_table("blocked_number")
