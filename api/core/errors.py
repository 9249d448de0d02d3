"""Domain errors, turned into HTTP responses in one place.

ApiError
├── NotFound        404
├── Conflict        409
├── InvalidInput    422
└── Unavailable     503  (e.g. the database is unreachable)

A value the database refuses (a NUL in text, which PostgreSQL can't store, or a number out
of its column's range) is the client's input error, 422 ``invalid_value``, not a 500; so
is a value that overflows Python's arithmetic (OverflowError, e.g. a date near year 9999).

Raise these from services; ``install_error_handlers`` maps them to JSON bodies of the form
``{"error": "<error_id>", "message": "..."}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError

log = logging.getLogger(__name__)


class ApiError(Exception):
    status_code = 400
    error_id = "bad_request"

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_id is not None:
            self.error_id = error_id


class NotFound(ApiError):
    status_code = 404
    error_id = "not_found"


class Conflict(ApiError):
    status_code = 409
    error_id = "conflict"


class InvalidInput(ApiError):
    status_code = 422
    error_id = "invalid_input"


class TooManyAttempts(ApiError):
    status_code = 429
    error_id = "too_many_login_attempts"


class BadCredentials(ApiError):
    status_code = 401
    error_id = "bad_credentials"


class Unavailable(ApiError):
    status_code = 503
    error_id = "unavailable"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"error": exc.error_id, "message": exc.message}
        )

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"error": "database_unavailable", "message": "the database is unreachable"},
        )

    @app.exception_handler(OverflowError)
    async def value_out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # A date or number from the client that datetime arithmetic can't hold (a date
        # near the year 1 or 9999 moved by a time zone or a deadline). The edges check
        # what they know; this keeps any other from being a 500.
        log.warning("%s %s: a value overflowed: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=422,
            content={"error": "invalid_value", "message": "a value is out of range"},
        )

    @app.exception_handler(DataError)
    async def value_refused(request: Request, exc: DataError) -> JSONResponse:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "refused"
        log.warning(
            "%s %s: the database refused a value: %s", request.method, request.url.path, reason
        )
        return JSONResponse(
            status_code=422,
            content={"error": "invalid_value", "message": f"a value was refused: {reason}"},
        )
