"""The IVR's HTTP client for the Lapor API (the only way ivr/ talks to api/).

Transport problems, timeouts, 5xx and auth errors all become ``ApiUnavailable``: the
caller keeps the record in the outbox and tries again later. A 4xx that retrying cannot
fix (409 conflict, 422 invalid) becomes ``ApiRejected``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ivr.logs import call_headers
from ivr.metrics import API_REQUESTS


class ApiUnavailable(Exception):
    """The API could not take the request now; try again later."""


class ApiRejected(Exception):
    """The API refused the request for good (it will never succeed as is)."""

    def __init__(self, message: str, status: int = 0, error: str = "") -> None:
        super().__init__(message)
        self.status = status  # the HTTP status (409, 422…)
        self.error = error  # the API's error id, e.g. "conflict" or "node_id_in_use"


_RETRYABLE_4XX = {401, 403, 408, 425, 429}


class LaporApi:
    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )
        # Whether the API answered the last request (None before the first): readiness.
        self.reachable: bool | None = None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body; returns the stored record (201 created or 200 already known)."""
        return _accepted(path, await self._request("POST", path, json=payload))

    async def put(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """PUT a JSON body; returns the answer (200)."""
        return _accepted(path, await self._request("PUT", path, json=payload))

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        return _accepted(path, await self._request("GET", path, params=params))

    async def delete(self, path: str, **params: str) -> None:
        response = await self._request("DELETE", path, params=params)
        if response.status_code not in (200, 204, 404):
            raise _rejected(path, response)

    async def complaint_status(self, ticket: str) -> str | None:
        """A complaint's status, or None when no complaint has that ticket."""
        response = await self._request("GET", f"/complaints/{ticket}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ApiRejected(f"status of {ticket}: {response.status_code}")
        status: str = response.json()["status"]
        return status

    async def blocked(self, number: str) -> bool:
        """Whether the blocklist blocks ``number`` now (a 404 means it does not)."""
        response = await self._request("GET", f"/blocklist/{number}")
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise _rejected(f"/blocklist/{number}", response)
        return True

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            # The call's ids, so the API's log lines of this request carry them.
            response = await self._client.request(method, path, headers=call_headers(), **kwargs)
        except httpx.HTTPError as exc:
            self._count("unavailable")
            raise ApiUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in _RETRYABLE_4XX:
            self._count("unavailable")
            raise ApiUnavailable(f"{method} {path}: HTTP {response.status_code}")
        # A 404 is an answer (no such complaint), not a refusal.
        self._count(
            "ok" if response.status_code < 400 or response.status_code == 404 else "rejected"
        )
        return response

    def _count(self, outcome: str) -> None:
        self.reachable = outcome != "unavailable"
        API_REQUESTS.labels(outcome=outcome).inc()


def _accepted(path: str, response: httpx.Response) -> dict[str, Any]:
    if response.status_code in (200, 201):
        body: dict[str, Any] = response.json()
        return body
    raise _rejected(path, response)


def _rejected(path: str, response: httpx.Response) -> ApiRejected:
    error = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = str(body.get("error", ""))
        message = str(body.get("message", "")) or response.text[:200]
    else:
        message = response.text[:200]
    return ApiRejected(f"{path}: {response.status_code} {message}", response.status_code, error)
