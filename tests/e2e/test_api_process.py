"""The API runs as its own process on PostgreSQL, migrates itself, and checks tokens."""

from __future__ import annotations

import httpx

from api.core.auth import Role
from tests.e2e.services import ApiProcess


def test_api_process_serves_health_and_checks_tokens(api_process: ApiProcess) -> None:
    assert httpx.get(f"{api_process.url}/health").json() == {"status": "ok", "database": "ok"}
    token = api_process.token(Role.collector, name="node-a")
    me = httpx.get(f"{api_process.url}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"name": "node-a", "role": "collector"}
    assert httpx.get(f"{api_process.url}/me").status_code == 401
