"""The complaint workflow: Indonesian LAPOR! statuses, audit trail, deadlines, SMS text.

Revision ID: 0005_complaint_workflow
Revises: 0002_complaints
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_complaint_workflow"
down_revision: str | None = "0002_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("received", "in_progress", "resolved", "closed")
NEW = ("diterima", "diverifikasi", "dilaporkan", "ditindaklanjuti", "selesai", "ditolak")
FORWARD = {"received": "diterima", "in_progress": "ditindaklanjuti", "resolved": "selesai"}
FORWARD["closed"] = "selesai"
BACKWARD = {"diterima": "received", "diverifikasi": "received", "dilaporkan": "received"}
BACKWARD |= {"ditindaklanjuti": "in_progress", "selesai": "resolved", "ditolak": "closed"}


def _retype_status(values: Sequence[str], mapping: dict[str, str]) -> None:
    """Switch the status enum's values, mapping each stored status to its new name."""
    bind = op.get_bind()
    old = sa.Enum(*(mapping.keys()), name="complaintstatus")
    new = sa.Enum(*values, name="complaintstatus")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE complaint ALTER COLUMN status TYPE VARCHAR(20)")
        op.execute("DROP TYPE complaintstatus")
    else:
        with op.batch_alter_table("complaint") as batch:
            batch.alter_column("status", type_=sa.String(20), existing_type=old)
    for before, after in mapping.items():
        op.execute(
            sa.text("UPDATE complaint SET status = :after WHERE status = :before").bindparams(
                before=before, after=after
            )
        )
    if bind.dialect.name == "postgresql":
        new.create(bind)
        op.execute(
            "ALTER TABLE complaint ALTER COLUMN status TYPE complaintstatus"
            " USING status::complaintstatus"
        )
    else:
        with op.batch_alter_table("complaint") as batch:
            batch.alter_column("status", type_=new, existing_type=sa.String(20))


def upgrade() -> None:
    _retype_status(NEW, FORWARD)
    channel = sa.Enum("phone", "sms", name="complaintchannel")
    channel.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("channel", channel, nullable=False, server_default="phone"))
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("summary", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("location", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("unit", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "updated_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
    op.create_index("ix_complaint_status", "complaint", ["status"])
    op.create_index("ix_complaint_unit", "complaint", ["unit"])
    op.create_index("ix_complaint_due_at", "complaint", ["due_at"])
    op.create_table(
        "complaint_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey("complaint.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column(
            "from_status", sa.Enum(*NEW, name="complaintstatus", create_type=False), nullable=False
        ),
        sa.Column(
            "to_status", sa.Enum(*NEW, name="complaintstatus", create_type=False), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_complaint_history_complaint_id", "complaint_history", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_history_complaint_id", table_name="complaint_history")
    op.drop_table("complaint_history")
    op.drop_index("ix_complaint_due_at", table_name="complaint")
    op.drop_index("ix_complaint_unit", table_name="complaint")
    op.drop_index("ix_complaint_status", table_name="complaint")
    with op.batch_alter_table("complaint") as batch:
        for column in (
            "updated_at",
            "due_at",
            "reported_at",
            "duplicate_of",
            "unit",
            "location",
            "summary",
            "text",
            "channel",
        ):
            batch.drop_column(column)
    sa.Enum(name="complaintchannel").drop(op.get_bind(), checkfirst=True)
    _retype_status(OLD, BACKWARD)
