"""``lapor-collector``: AMI events of one Asterisk node into the API."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from collector._collector import Collector
from collector._settings import CollectorSettings

log = logging.getLogger("lapor.collector")


async def run(settings: CollectorSettings) -> None:
    """Run until SIGTERM/SIGINT; the disk buffer keeps whatever could not be delivered."""
    collector = Collector(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, collector.stop)
    log.info("collector for node %s: %d event(s) buffered", settings.node, len(collector.buffer))
    await collector.run()


def main() -> None:
    settings = CollectorSettings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Start-up's objects out of the garbage collector's way (see api/__main__.py).
    gc.freeze()
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
