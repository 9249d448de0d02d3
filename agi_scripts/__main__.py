"""``lapor-ivr``: run the FastAGI server until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from agi_scripts.routes import ROUTES
from ivr import FastAGIServer, configure_logging

logger = logging.getLogger("agi_scripts")

# Loopback by default: FastAGI has no authentication, never expose it publicly.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4573


async def serve(host: str, port: int) -> None:
    server = FastAGIServer(ROUTES, host=host, port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        await stop.wait()
        logger.info("shutting down")
    finally:
        await server.close()


def main() -> None:
    configure_logging(os.environ.get("LAPOR_LOG_LEVEL", "INFO"))
    host = os.environ.get("LAPOR_AGI_HOST", DEFAULT_HOST)
    port = int(os.environ.get("LAPOR_AGI_PORT", str(DEFAULT_PORT)))
    asyncio.run(serve(host, port))


if __name__ == "__main__":
    main()
