"""Liveness and readiness: the only routes that need no token.

``/health`` (what compose and the tests have always asked) pings the database;
``/health/live`` answers while the process does, touching nothing; ``/health/ready``
answers 200 only while the database is reachable and its schema is at this code's head
migration (503 otherwise: a load balancer sends nothing to a replica that can't serve).
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from api.core.migrate import heads

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]


@router.get("/health")
def health(request: Request, response: Response) -> Health:
    """Report whether the API is up and can reach its database."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="degraded", database="unreachable")
    return Health(status="ok", database="ok")


class Liveness(BaseModel):
    status: Literal["live"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    schema_: Literal["current", "behind", "unknown"] = Field(alias="schema")


@cache
def _head() -> str:
    (head,) = heads()
    return head


@router.get("/health/live")
def live() -> Liveness:
    """The process answers (nothing else is checked)."""
    return Liveness(status="live")


@router.get("/health/ready")
def ready(request: Request, response: Response) -> Readiness:
    """Ready to serve: the database answers and its schema is at the code's migration."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="not_ready", database="unreachable", schema="unknown")
    if version != _head():
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="not_ready", database="ok", schema="behind")
    return Readiness(status="ready", database="ok", schema="current")
