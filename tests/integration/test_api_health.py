"""The health route on SQLite and PostgreSQL, and when the database is gone."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.core.settings import ApiSettings
from api.main import create_app


def test_health_reports_ok_with_a_reachable_database(database_url: str) -> None:
    with TestClient(create_app(ApiSettings(database_url=database_url))) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_health_reports_503_when_the_database_is_unreachable() -> None:
    settings = ApiSettings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unreachable"}


def test_sqlite_file_folder_is_created(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "nested" / "dir" / "lapor.db"
    with TestClient(create_app(ApiSettings(database_url=f"sqlite:///{target}"))) as client:
        assert client.get("/health").status_code == 200
    assert target.exists()


DOCS = ("/docs", "/redoc", "/openapi.json")


def test_the_docs_are_off_unless_enabled(sqlite_url: str) -> None:
    with TestClient(create_app(ApiSettings(database_url=sqlite_url))) as client:
        assert [client.get(path).status_code for path in DOCS] == [404, 404, 404]
    enabled = ApiSettings(database_url=sqlite_url, docs_enabled=True)
    with TestClient(create_app(enabled)) as client:
        assert [client.get(path).status_code for path in DOCS] == [200, 200, 200]
        assert "/complaints" in client.get("/openapi.json").json()["paths"]
