"""``lapor-collector``: AMI events of one Asterisk node into the API."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal

from pydantic import ValidationError

from collector import _metrics as metrics
from collector._collector import Collector
from collector._settings import CollectorSettings
from ivr.commandline import service_parser, settings_env, settings_problem
from ivr.logs import FORMAT_ENV, configure_logging
from ivr.metrics_http import ProbeListener

log = logging.getLogger("lapor.collector")


async def run(settings: CollectorSettings) -> None:
    """Run until SIGTERM/SIGINT; the disk buffer keeps whatever could not be delivered."""
    collector = Collector(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, collector.stop)
    log.info("collector for node %s: %d event(s) buffered", settings.node, len(collector.buffer))
    probes = None
    if settings.metrics_port:
        probes = ProbeListener(
            settings.metrics_host,
            settings.metrics_port,
            render=metrics.render(collector),
            ready=metrics.readiness(collector, settings.ready_seconds),
        )
        await probes.start()
    try:
        await collector.run()
    finally:
        if probes is not None:
            await probes.close()


def parser() -> argparse.ArgumentParser:
    return service_parser(
        "lapor-collector",
        "Collect the AMI events of one Asterisk node and deliver them to the Lapor API,"
        " buffered on disk while the API is away. Takes no arguments: its settings come"
        " from the environment. The AMI secret and the API token must be set (directly or"
        " by a *_FILE).",
        [*settings_env(CollectorSettings), (FORMAT_ENV, "text")],
        env_note=" (or a .env file in the current folder)",
    )


def main(argv: list[str] | None = None) -> None:
    parser().parse_args(argv)
    try:
        settings = CollectorSettings()
    except ValidationError as exc:
        problem = settings_problem(exc, "LAPOR_COLLECTOR_")
        raise SystemExit(f"lapor-collector: {problem}") from None
    try:
        missing = settings.missing_secrets()
    except OSError as exc:  # a secret file that can't be read
        raise SystemExit(f"lapor-collector: {exc.filename}: {exc.strerror}") from None
    if missing:
        raise SystemExit(f"lapor-collector: refusing to start: {' and '.join(missing)}")
    try:
        configure_logging(settings.log_level, "lapor-collector")
    except ValueError as exc:  # LAPOR_LOG_FORMAT
        raise SystemExit(f"lapor-collector: {exc}") from None
    # Start-up's objects out of the garbage collector's way (see api/__main__.py).
    gc.freeze()
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
