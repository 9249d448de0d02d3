"""Domain errors, turned into HTTP responses in one place.

ApiError
├── NotFound        404
├── Conflict        409
├── InvalidInput    422
└── Unavailable     503  (e.g. the database is unreachable)

Raise these from services; ``install_error_handlers`` maps them to JSON bodies of the form
``{"error": "<error_id>", "message": "..."}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError


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
