"""Errors no route anticipated still get the JSON error body and a 4xx, not a 500."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.errors import install_error_handlers


def test_an_overflow_from_client_input_is_422_invalid_value() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/day-after/{day}")
    def day_after(day: date) -> date:
        return day + timedelta(days=1)  # OverflowError for 9999-12-31

    with TestClient(app) as client:
        assert client.get("/day-after/2026-11-28").json() == "2026-11-29"
        response = client.get("/day-after/9999-12-31")
    assert response.status_code == 422
    assert response.json() == {"error": "invalid_value", "message": "a value is out of range"}
