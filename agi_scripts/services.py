"""What the handlers need besides the channel: settings, tickets, the outbox, the API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ivr.lapor_api import LaporApi
from ivr.outbox import Deliverer, Outbox
from ivr.settings import IvrSettings
from ivr.tickets import TicketIssuer

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: IvrSettings
    api: LaporApi
    outbox: Outbox
    deliverer: Deliverer
    tickets: TicketIssuer

    @classmethod
    def from_settings(cls, settings: IvrSettings) -> Services:
        """Build (nothing connects until the first request)."""
        api = LaporApi(settings.api_url, settings.api_token, settings.api_timeout)
        outbox = Outbox(settings.spool_dir)
        return cls(
            settings=settings,
            api=api,
            outbox=outbox,
            deliverer=Deliverer(outbox, api),
            tickets=TicketIssuer(settings.spool_dir, settings.node_id),
        )

    async def issue_ticket(self) -> str:
        return await asyncio.to_thread(self.tickets.issue)

    async def submit(self, kind: str, key: str, payload: dict[str, Any]) -> bool:
        """Store durably, then try to deliver now (``api_timeout``); True if delivered.

        Either way the record is safe: the server's delivery loop retries what is left.
        """
        record = await asyncio.to_thread(self.outbox.put, kind, key, payload)
        return await self.deliverer.deliver(record)

    async def aclose(self) -> None:
        await self.api.aclose()
