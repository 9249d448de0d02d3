"""The SIP edge's JSON-RPC (Kamailio's jsonrpcs, edge/kamailio.cfg): the browser phones'
passwords behind the edge.

With several call-center nodes the officers' browser phones register with the edge, not
with a node (docs/scaling-edge.md). Kamailio checks their REGISTER against its htable
``webauth``, which the API fills here when the console asks for a credential and empties
at sign-out, dropping the phone's registration with it. One short HTTP request per
command, with the edge's token; the password is never logged.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import httpx

import asterisk_values as values

log = logging.getLogger(__name__)

WEB_AUTH_TABLE = "webauth"
TOKEN_HEADER = "X-Lapor-Edge-Token"
_ids = itertools.count(1)


class EdgeCommandError(Exception):
    """The edge refused the command, or could not be reached in time."""


@dataclass(frozen=True)
class EdgeControl:
    url: str  # http://edge:8081/RPC
    token: str
    timeout: float = 5.0

    async def call(self, method: str, *params: str) -> Any:
        """Run one RPC command; return its result (raise EdgeCommandError if refused)."""
        body = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(_ids)}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                reply = await client.post(self.url, json=body, headers={TOKEN_HEADER: self.token})
        except httpx.HTTPError as exc:
            raise EdgeCommandError(f"the edge is unreachable: {exc or type(exc).__name__}") from exc
        if reply.status_code != 200:
            raise EdgeCommandError(f"the edge answered HTTP {reply.status_code} to {method}")
        try:
            answer = reply.json()
        except ValueError as exc:
            raise EdgeCommandError(f"the edge's answer to {method} is not JSON") from exc
        if not isinstance(answer, dict) or "error" in answer:
            error = answer.get("error") if isinstance(answer, dict) else answer
            raise EdgeCommandError(f"the edge refused {method}: {error}")
        return answer.get("result")

    async def browser_phone_put(self, endpoint: str, password: str) -> None:
        """Let ``endpoint`` (an officer's ``<ext>-web``) register with ``password``."""
        await self.call(
            "htable.sets", WEB_AUTH_TABLE, values.endpoint(endpoint), values.web_secret(password)
        )

    async def browser_phone_drop(self, endpoint: str) -> None:
        """``endpoint`` registers no more, and its current registration is gone."""
        endpoint = values.endpoint(endpoint)
        await self.call("htable.delete", WEB_AUTH_TABLE, endpoint)
        try:
            await self.call("ul.rm", "location", endpoint)
        except EdgeCommandError as exc:
            # not registered (any more): nothing to drop
            log.info("no registration of %s to drop at the edge: %s", endpoint, exc)
