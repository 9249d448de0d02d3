"""The call a request concerns, for the log: the IVR sends the call's ids in the headers
``X-Lapor-Linkedid`` and ``X-Lapor-Uniqueid`` (ivr/lapor_api.py); while the request is
served, every log line (uvicorn's access line included) carries them. A value that can't
be an Asterisk id (ivr.logs.call_id: at most 64 letters, digits, dots, dashes and
underscores) is ignored."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ivr.logs import LINKEDID_HEADER, UNIQUEID_HEADER, call_context

_LINKEDID = LINKEDID_HEADER.lower().encode()
_UNIQUEID = UNIQUEID_HEADER.lower().encode()
_MAX_ID = 64


class CallContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ids = {}
        if scope["type"] == "http":
            ids = {
                name: value[: _MAX_ID + 1].decode("latin-1")
                for name, value in scope["headers"]
                if name in (_LINKEDID, _UNIQUEID)
            }
        if not ids:
            await self.app(scope, receive, send)
            return
        with call_context(ids.get(_UNIQUEID, ""), ids.get(_LINKEDID, "")):
            await self.app(scope, receive, send)
