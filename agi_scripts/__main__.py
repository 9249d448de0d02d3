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
from ivr.settings import IvrSettings

logger = logging.getLogger("agi_scripts")

# Loopback by default: FastAGI has no authentication, never expose it publicly.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4573


async def serve(host: str, port: int, settings: IvrSettings) -> None:
    services = Services.from_settings(settings)
    server = FastAGIServer(make_routes(services), host=host, port=port)
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
    settings = IvrSettings.from_env()
    if sys.argv[1:] == ["flush"]:
        raise SystemExit(asyncio.run(flush(settings)))
    host = os.environ.get("LAPOR_AGI_HOST", DEFAULT_HOST)
    port = int(os.environ.get("LAPOR_AGI_PORT", str(DEFAULT_PORT)))
    asyncio.run(serve(host, port, settings))


if __name__ == "__main__":
    main()
