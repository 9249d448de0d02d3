"""Domain errors, turned into HTTP responses in one place.

ApiError             400  (api/live/sse.py's BadLastEventId: a malformed Last-Event-ID)
├── Unauthorized    401  (no valid bearer token; with ``WWW-Authenticate: Bearer``)
├── BadCredentials  401  (a login's wrong username or password)
├── Forbidden       403  (the token's role may not do this)
├── NotFound        404
├── Conflict        409  (NodeIdInUse: an IVR node id another node holds)
├── PayloadTooLarge 413  (an attachment over its size limit)
├── UnsupportedMediaType 415
├── InvalidInput    422
├── TooManyAttempts 429  (failed logins)
└── Unavailable     503  (e.g. the database is unreachable)

A value the database refuses (a NUL in text, which PostgreSQL can't store, or a number out
of its column's range) is the client's input error, 422 ``invalid_value``, not a 500; so
is a value that overflows Python's arithmetic (OverflowError, e.g. a date near year 9999).

Raise these from services; ``install_error_handlers`` maps them to JSON bodies of the form
``{"error": "<error_id>", "message": "..."}``. The framework's own errors get the same body:
an unknown path (404), a wrong method (405), and a request that does not validate (422
``invalid_input``, which keeps FastAPI's list of what failed under ``detail``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on; each subclass names its status and error id."""

    status_code = 400
    error_id = "bad_request"
    headers: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(
        cls, *, status_code: int | None = None, error_id: str | None = None, **kwargs: object
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.status_code = status_code or cls.status_code
        cls.error_id = error_id or cls.error_id

    def __init__(self, message: str, error_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_id is not None:
            self.error_id = error_id


class Unauthorized(ApiError, status_code=401, error_id="unauthorized"):
    headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError, status_code=403, error_id="forbidden"): ...


class NotFound(ApiError, status_code=404, error_id="not_found"): ...


class Conflict(ApiError, status_code=409, error_id="conflict"): ...


class NodeIdInUse(Conflict, error_id="node_id_in_use"): ...


class PayloadTooLarge(ApiError, status_code=413, error_id="payload_too_large"): ...


class InvalidInput(ApiError, status_code=422, error_id="invalid_input"): ...


class UnsupportedMediaType(ApiError, status_code=415, error_id="unsupported_media_type"): ...


class TooManyAttempts(ApiError, status_code=429, error_id="too_many_login_attempts"): ...


class BadCredentials(ApiError, status_code=401, error_id="bad_credentials"): ...


class Unavailable(ApiError, status_code=503, error_id="unavailable"): ...


# The framework's own HTTP errors (unknown path, wrong method, ...), by status code.
HTTP_ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


class TimeOutOfRange(OverflowError, ValueError):
    """A time past datetime's range: a validator's ValueError, an OverflowError elsewhere."""


def error_body(status_code: int, error_id: str, message: str, **more: object) -> JSONResponse:
    return JSONResponse(
        status_code=status_code, content={"error": error_id, "message": message, **more}
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        response = error_body(exc.status_code, exc.error_id, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        error_id = HTTP_ERROR_IDS.get(exc.status_code, "http_error")
        response = error_body(exc.status_code, error_id, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_body(
            422,
            InvalidInput.error_id,
            "the request does not validate",
            detail=jsonable_encoder(exc.errors()),
        )

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        return error_body(503, "database_unavailable", "the database is unreachable")

    @app.exception_handler(OverflowError)
    async def value_out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # A date or number from the client that datetime arithmetic can't hold (a date
        # near the year 1 or 9999 moved by a time zone or a deadline). The edges check
        # what they know; this keeps any other from being a 500.
        log.warning("%s %s: a value overflowed: %s", request.method, request.url.path, exc)
        return error_body(422, "invalid_value", "a value is out of range")

    @app.exception_handler(DataError)
    async def value_refused(request: Request, exc: DataError) -> JSONResponse:
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "refused"
        log.warning(
            "%s %s: the database refused a value: %s", request.method, request.url.path, reason
        )
        return error_body(422, "invalid_value", f"a value was refused: {reason}")
