"""``lapor-ivr``: run the FastAGI server (and the outbox delivery) until SIGINT/SIGTERM.

``lapor-ivr flush`` delivers what is in the outbox once and exits (status 1 if some
records are still pending), e.g. from cron on a node that runs classic AGI only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from agi_scripts.routes import make_routes
from agi_scripts.services import Services
from ivr import FastAGIServer, configure_logging
from ivr.settings import FastAGISettings, IvrSettings, SettingsError

logger = logging.getLogger("agi_scripts")


async def serve(server_settings: FastAGISettings, settings: IvrSettings) -> None:
    services = Services.from_settings(settings)
    server = FastAGIServer(
        make_routes(services),
        host=server_settings.host,
        port=server_settings.port,
        limits=server_settings.limits,
        access=server_settings.access,
    )
    if not server_settings.access.secret:
        logger.warning(
            "no AGI secret set (LAPOR_AGI_SECRET): FastAGI peers are checked by address only"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    delivery = asyncio.create_task(services.deliverer.run(stop))
    try:
        await stop.wait()
        logger.info("shutting down")
    finally:
        await server.close()
        stop.set()
        await delivery
        await services.aclose()


async def flush(settings: IvrSettings) -> int:
    services = Services.from_settings(settings)
    try:
        left = await services.deliverer.flush()
    finally:
        await services.aclose()
    logger.info("outbox: %d delivered, %d pending", services.deliverer.delivered, left)
    return 1 if left else 0


def main() -> None:
    configure_logging(os.environ.get("LAPOR_LOG_LEVEL", "INFO"))
    try:
        settings = IvrSettings.from_env()
        if sys.argv[1:] == ["flush"]:
            raise SystemExit(asyncio.run(flush(settings)))
        server_settings = FastAGISettings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"lapor-ivr: {exc}") from None
    asyncio.run(serve(server_settings, settings))


if __name__ == "__main__":
    main()
