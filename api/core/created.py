"""The answer of an idempotent POST (the IVR retries from its outbox until it is taken)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Response, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

Row = TypeVar("Row", bound=SQLModel)


def created_or_known(response: Response, created: bool) -> None:
    """201 (the route's default) for a new row; 200 when the same one was already stored."""
    if not created:
        response.status_code = status.HTTP_200_OK


def stored_once(session: Session, row: Row, known: SelectOfScalar[Row]) -> tuple[Row, bool]:
    """Insert ``row`` unless ``known`` (a query on its unique key) finds it already stored;
    returns the stored row and whether it was created now. A concurrent insert of the same
    key loses on the unique constraint and returns the winner's row."""
    existing = session.exec(known).first()
    if existing is not None:
        return existing, False
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.exec(known).one(), False
    session.refresh(row)
    return row, True
