"""Every route in the OpenAPI schema, against no token and every role.

Routes declare their roles with ``require_roles``, which publishes them as OAuth2 scopes
on the operation. The only public routes are listed in PUBLIC; any other route without
declared roles fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.core.auth import Role
from api.core.settings import ApiSettings
from api.main import create_app
from tests.conftest import ApiHarness

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("POST", "/auth/login"),
}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = create_app(ApiSettings(database_url="sqlite://")).openapi()
    return [
        (method.upper(), path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def declared_roles(operation: dict[str, Any]) -> set[str]:
    return {
        scope
        for requirement in operation.get("security", [])
        for scopes in requirement.values()
        for scope in scopes
    }


PROTECTED = [(m, p, op) for m, p, op in operations() if (m, p) not in PUBLIC]
IDS = [f"{m} {p}" for m, p, _ in PROTECTED]


def concrete(path: str) -> str:
    """Fill path parameters with a harmless value."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("method", "path", "operation"), PROTECTED, ids=IDS)
def test_route_declares_its_roles(method: str, path: str, operation: dict[str, Any]) -> None:
    roles = declared_roles(operation)
    assert roles, f"{method} {path} declares no roles"
    assert roles <= {r.value for r in Role}


@pytest.mark.parametrize(("method", "path", "operation"), PROTECTED, ids=IDS)
def test_route_admits_exactly_its_roles(
    api: ApiHarness, method: str, path: str, operation: dict[str, Any]
) -> None:
    allowed = declared_roles(operation)
    url = concrete(path)
    assert api.client.request(method, url).status_code == 401
    for role in Role:
        status = api.client.request(method, url, headers=api.headers(role)).status_code
        if role.value in allowed:
            assert status not in (401, 403), f"{role} refused on {method} {path}"
        else:
            assert status == 403, f"{role} got {status} on {method} {path}"


def test_the_public_routes_exist_and_need_no_token() -> None:
    public = {(m, p) for m, p, op in operations() if not declared_roles(op)}
    assert public == PUBLIC
