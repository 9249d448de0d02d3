"""``lapor db copy FROM_URL TO_URL``: every table from one database into an empty other.

Made for moving from SQLite to PostgreSQL (and back): the target is migrated to the
latest schema, every row is copied with its id, in foreign-key order, in one transaction
on the target, and PostgreSQL's sequences are then set past the highest id, so the next
row the API inserts gets a new one. Timestamps are stored in UTC on both sides (SQLite
keeps them without a zone, PostgreSQL as ``timestamptz``); each is carried as an aware
UTC datetime, so neither side's session time zone can shift it.

The source must be at the latest migration (``lapor db upgrade`` it first) and is only
read. A target that already holds a row in any of the API's tables is refused: a copy
merges nothing and overwrites nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine

import api.tables
from api.core.db import make_engine
from api.core.migrate import heads, upgrade

BATCH = 1000


class CopyRefused(RuntimeError):
    """The copy can't be made (nothing was written to the target)."""


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]

    def __str__(self) -> str:
        total = sum(self.rows.values())
        tables = sum(1 for count in self.rows.values() if count)
        return f"{total} rows in {tables} of {len(self.rows)} tables"


def tables() -> list[sa.Table]:
    """The API's tables, parents before the tables that refer to them."""
    return list(api.tables.metadata.sorted_tables)


def first_table_with_rows(connection: Connection) -> str | None:
    """The first of the API's tables that exists here and holds a row, or None."""
    present = set(sa.inspect(connection).get_table_names())
    for table in tables():
        one = sa.select(sa.literal(1)).select_from(table).limit(1)
        if table.name in present and connection.execute(one).first():
            return table.name
    return None


def schema_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _rows(connection: Connection, table: sa.Table) -> Iterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = connection.execution_options(yield_per=BATCH).execute(
        sa.select(table).order_by(*order)
    )
    for partition in result.mappings().partitions(BATCH):
        yield [{key: _utc(value) for key, value in row.items()} for row in partition]


def _integer_keys(table: sa.Table) -> Sequence[sa.Column[Any]]:
    return [
        column
        for column in table.primary_key.columns
        if isinstance(column.type, sa.Integer) and column.autoincrement is not False
    ]


def _set_sequences(connection: Connection, table: sa.Table) -> None:
    """Move each PostgreSQL sequence of the table past its highest id."""
    for column in _integer_keys(table):
        sequence = connection.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        ).scalar()
        if sequence is None:
            continue
        highest = connection.execute(sa.select(sa.func.max(column))).scalar()
        # setval(s, n, false): the next value is n; so n is 1 on an empty table.
        connection.execute(
            sa.text("SELECT setval(CAST(:sequence AS regclass), :next, false)"),
            {"sequence": sequence, "next": (highest or 0) + 1},
        )


def copy_database(source: Engine, target: Engine) -> CopyResult:
    """Copy every row of ``source`` into ``target``; CopyRefused if it can't be done."""
    if source.url == target.url:
        raise CopyRefused("the source and the target are the same database")
    with source.connect() as reading:
        revision = schema_revision(reading)
        if revision not in heads():
            raise CopyRefused(
                f"the source's schema is at {revision or 'no revision'}, not the latest"
                f" ({', '.join(heads())}): run `lapor db upgrade` on it first"
            )
    with target.connect() as checking:
        full = first_table_with_rows(checking)
    if full is not None:
        raise CopyRefused(
            f"the target already holds data (table {full} has rows); copy into an empty"
            " database: create a new one, or drop and recreate this one"
        )
    upgrade(target)
    rows: dict[str, int] = {}
    with source.connect() as plain, target.begin() as writing:
        # Tables the migrations may have seeded (none today) would make the copy clash.
        full = first_table_with_rows(writing)
        if full is not None:
            raise CopyRefused(f"the target's migrations left rows in {full}")
        # One snapshot of the source: rows added meanwhile come along whole or not at all.
        if plain.dialect.name == "postgresql":
            reading = plain.execution_options(isolation_level="REPEATABLE READ")
        else:
            reading = plain
            reading.exec_driver_sql("BEGIN")  # pysqlite begins only before a write
        for table in tables():
            count = 0
            for batch in _rows(reading, table):
                writing.execute(table.insert(), batch)
                count += len(batch)
            rows[table.name] = count
            if writing.dialect.name == "postgresql":
                _set_sequences(writing, table)
    return CopyResult(rows)


def copy_urls(source_url: str, target_url: str) -> CopyResult:
    source = make_engine(source_url)
    target = make_engine(target_url)
    try:
        return copy_database(source, target)
    finally:
        source.dispose()
        target.dispose()
