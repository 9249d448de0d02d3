"""Bulk reads and writes of events and calls: a few statements per batch on PostgreSQL.

On PostgreSQL a batch's events are ``COPY``'d into ``ami_event``; call rows are ``COPY``'d
into a temporary table and merged from there with one ``INSERT … ON CONFLICT``; id lists
go as one binary array parameter. Profiled, ``executemany`` (every row bound and sent on
its own) and text-format array parameters (psycopg escapes each element with a regex)
cost several times more. SQLite, the embedded single-writer default, keeps plain
``executemany``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from psycopg.errors import UniqueViolation
from sqlalchemy import select as core_select
from sqlalchemy import text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from api.core.clock import as_utc
from api.core.db import is_postgres
from api.core.text import json_text
from api.events.models import AmiEvent, Call

_CHUNK = 500
CallKey = tuple[str, str]


class EventRow(NamedTuple):
    """One ``ami_event`` row (an AMI event or a queue_log line)."""

    id: str
    node: str
    name: str
    at: datetime
    received_at: datetime
    linkedid: str | None
    fields: dict[str, Any]


def _cursor(session: Session) -> Any:
    """The psycopg cursor of the session's connection (same transaction)."""
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


Columns = Sequence[tuple[str, str]]  # (name, PostgreSQL type) pairs


def copy_rows(
    session: Session, table: str, columns: Columns, rows: Iterable[Sequence[Any]]
) -> None:
    """``COPY`` rows into ``table``'s ``columns`` in binary format.

    Binary, not text: psycopg formats a timestamp for text ``COPY`` in Python, which made a
    call row cost 17 µs against 6 µs in binary (measured on 30 000 rows). A ``json`` column
    takes type ``text`` here: json's binary form is its text.
    """
    names = ", ".join(name for name, _ in columns)
    with _cursor(session).copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([sqltype for _, sqltype in columns])
        for row in rows:
            copy.write_row(row)


def stage_rows(session: Session, table: str, columns: Columns, rows: Iterable[Any]) -> None:
    """COPY ``rows`` into a new temporary ``table``, dropped when the transaction ends."""
    spec = ", ".join(f"{name} {sqltype}" for name, sqltype in columns)
    _cursor(session).execute(f"CREATE TEMP TABLE {table} ({spec}) ON COMMIT DROP")
    copy_rows(session, table, columns, rows)


_EVENT_COLUMNS = (
    ("id", "text"),
    ("node", "text"),
    ("name", "text"),
    ("at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("linkedid", "text"),
    ("fields", "text"),
)
_INSERT_EVENTS = text(
    "INSERT INTO ami_event (id, node, name, at, received_at, linkedid, fields) "
    "SELECT id, node, name, at, received_at, linkedid, CAST(fields AS json) "
    "FROM stage_event ON CONFLICT (id) DO NOTHING RETURNING id"
)


def insert_events(session: Session, rows: Sequence[EventRow]) -> list[EventRow]:
    """Store these events (the caller checked they are new) and return those stored: an id
    stored meanwhile by a concurrent batch (or, from a faulty collector, stored before with
    another call) is skipped.

    On PostgreSQL the rows are COPY'd straight into ``ami_event`` (measured about twice as
    fast as staging them for ``ON CONFLICT``), inside a savepoint: only if one of them is
    stored already does the COPY fail and the slower staged path run.
    """
    if not rows:
        return []
    if is_postgres(session):
        encoded = [(*r[:-1], json_text(r.fields)) for r in rows]
        try:
            with session.begin_nested():
                copy_rows(session, "ami_event", _EVENT_COLUMNS, encoded)
            return list(rows)
        except UniqueViolation:
            stage_rows(session, "stage_event", _EVENT_COLUMNS, encoded)
            stored = set(session.execute(_INSERT_EVENTS).scalars())
    else:
        stmt = sqlite.insert(AmiEvent).on_conflict_do_nothing(index_elements=["id"])
        returning = stmt.returning(col(AmiEvent.id))
        stored = set(session.connection().execute(returning, [r._asdict() for r in rows]).scalars())
    return [r for r in rows if r.id in stored]


_SEP = "\x1f"


def any_text(values: Sequence[str]) -> tuple[str, Any]:
    """``= ANY(…)`` SQL and its one parameter for a list of strings.

    The list travels as one text joined on U+001F and is split by PostgreSQL: psycopg dumps
    an array parameter element by element in Python (measured 1.7 against 0.33 µs per
    element). A value holding the separator itself falls back to a real array.
    """
    joined = _SEP.join(values)
    if values and joined.count(_SEP) == len(values) - 1:
        return "ANY(string_to_array(%s, chr(31)))", joined
    return "ANY(%s)", list(values)


def known_ids(session: Session, ids: Sequence[str]) -> set[str]:
    """Which of these event ids are stored already."""
    known: set[str] = set()
    if not ids:
        return known
    if is_postgres(session):
        cursor = _cursor(session)
        any_ids, param = any_text(ids)
        cursor.execute(f"SELECT id FROM ami_event WHERE id = {any_ids}", [param], binary=True)
        known.update(row[0] for row in cursor.fetchall())
        return known
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        known.update(
            session.execute(select(AmiEvent.id).where(col(AmiEvent.id).in_(chunk))).scalars()
        )
    return known


@dataclass
class Stored:
    """What the database holds of some calls."""

    events: dict[CallKey, list[EventRow]] = field(default_factory=lambda: defaultdict(list))
    entered: dict[CallKey, datetime | None] = field(default_factory=dict)  # of each call row
    lines: dict[CallKey, list[str]] = field(default_factory=dict)  # of each call row


def _chunks(session: Session, calls: Sequence[CallKey]) -> Iterator[tuple[str, list[str]]]:
    """(node, linkedids) lists to look up: all of a node at once on PostgreSQL."""
    postgres = is_postgres(session)
    for node, ids in by_node(calls).items():
        step = len(ids) if postgres else _CHUNK
        for start in range(0, len(ids), step):
            yield node, ids[start : start + step]


def _lookup(
    session: Session,
    model: type[Call] | type[AmiEvent],
    names: Sequence[str],
    node: str,
    linkedids: list[str],
) -> Sequence[Any]:
    """The ``names`` columns of ``model``'s rows of these linkedids on a node."""
    if is_postgres(session):
        any_ids, param = any_text(linkedids)
        table = model.__tablename__
        query = f"SELECT {', '.join(names)} FROM {table} WHERE node = %s AND linkedid = {any_ids}"
        rows: Sequence[Any] = _cursor(session).execute(query, [node, param], binary=True).fetchall()
        return rows
    columns = [col(getattr(model, name)) for name in names]
    where = (col(model.node) == node, col(model.linkedid).in_(linkedids))
    return session.execute(core_select(*columns).where(*where)).all()


def load_rows(session: Session, calls: Sequence[CallKey], into: Stored) -> None:
    """These calls' rows: their queue entry times and queue_log lines."""
    names = ("linkedid", "queue_entered_at", "queue_log")
    for node, chunk in _chunks(session, calls):
        for linkedid, at, lines in _lookup(session, Call, names, node, chunk):
            into.entered[(node, linkedid)] = at
            into.lines[(node, linkedid)] = lines.split("\n") if lines else []


def load_events(session: Session, calls: Sequence[CallKey], into: Stored) -> None:
    """Every stored AMI event of these calls."""
    names = ("id", "linkedid", "name", "at", "received_at", "fields")
    for node, chunk in _chunks(session, calls):
        for id_, linkedid, name, at, received_at, fields_ in _lookup(
            session, AmiEvent, names, node, chunk
        ):
            row = EventRow(id_, node, name, as_utc(at), as_utc(received_at), linkedid, fields_)
            into.events[(node, linkedid)].append(row)


def load_calls(session: Session, calls: Sequence[CallKey]) -> Stored:
    """Everything stored of these calls: rows and AMI events."""
    stored = Stored()
    load_events(session, calls, stored)
    load_rows(session, calls, stored)
    return stored


def by_node(calls: Iterable[CallKey]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for node, linkedid in calls:
        grouped[node].append(linkedid)
    return grouped


_CALL_INTS = {"position", "hold_seconds", "wait_seconds", "talk_seconds"}
_CALL_BOOLS = {"urgent"}


def call_columns(names: Iterable[str]) -> list[tuple[str, str]]:
    """``call`` columns with their PostgreSQL types, for ``copy_rows``."""
    return [(n, _call_type(n)) for n in names]


def _call_type(name: str) -> str:
    if name in _CALL_INTS:
        return "int4"
    if name in _CALL_BOOLS:
        return "bool"
    return "timestamptz" if name.endswith("_at") else "text"


def upsert_calls(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or replace these call rows (keyed by node and linkedid)."""
    if not rows:
        return
    names = list(rows[0])
    updated = [n for n in names if n not in ("node", "linkedid")]
    if is_postgres(session):
        stage_rows(session, "stage_call", call_columns(names), (tuple(r.values()) for r in rows))
        sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in updated)
        listed = ", ".join(names)
        session.execute(
            text(
                f"INSERT INTO call ({listed}) SELECT {listed} FROM stage_call "
                f"ON CONFLICT (node, linkedid) DO UPDATE SET {sets}"
            )
        )
        return
    insert = sqlite.insert(Call)
    upsert = insert.on_conflict_do_update(
        index_elements=["node", "linkedid"], set_={n: insert.excluded[n] for n in updated}
    )
    session.connection().execute(upsert, rows)


def insert_new_calls(session: Session, names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows (values of ``names``) of calls the caller found no row for, holding
    their call locks.

    On PostgreSQL a plain ``COPY`` (no staging, no ``ON CONFLICT``); should a row exist
    after all, the batch falls back to ``upsert_calls``.
    """
    if rows and is_postgres(session):
        try:
            with session.begin_nested():
                copy_rows(session, "call", call_columns(names), rows)
            return
        except UniqueViolation:
            pass
    upsert_calls(session, [dict(zip(names, row, strict=True)) for row in rows])
