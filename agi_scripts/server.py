"""``lapor-ivr``, the IVR server's command: run the FastAGI server (and the outbox
delivery) until SIGINT/SIGTERM, serving the handlers of this package's route table.

Before serving, it claims its node id with the API (ivr/node_lease.py) and raises its
ticket counter to the API's highest ticket of the node; it refuses to start (status 2)
while another IVR with another spool holds the node id, and stops (status 3) if one
takes it later.

``lapor-ivr flush`` raises the counter the same way (without a claim), delivers what is
in the outbox once and exits (status 1 if some records are still pending), e.g. from
cron on a node that runs classic AGI only.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal

from prometheus_client import generate_latest

from agi_scripts.routes import make_routes
from agi_scripts.services import Services
from ivr import FastAGIServer, configure_logging, metrics
from ivr.commandline import service_parser
from ivr.lapor_api import ApiRejected, ApiUnavailable
from ivr.logs import FORMAT_ENV
from ivr.metrics_http import ProbeListener
from ivr.node_lease import NodeIdInUse, NodeLease
from ivr.settings import (
    API_TOKEN_FILE_ENV,
    LOG_LEVEL_ENV,
    FastAGISettings,
    IvrSettings,
    SettingsError,
)

logger = logging.getLogger("agi_scripts")


async def serve(server_settings: FastAGISettings, settings: IvrSettings) -> int:
    services = Services.from_settings(settings)
    routes = make_routes(services)
    server = FastAGIServer(
        routes,
        host=server_settings.host,
        port=server_settings.port,
        limits=server_settings.limits,
        access=server_settings.access,
        on_call_end=metrics.SessionCounter(routes),
    )
    serving = asyncio.Event()
    probes = await _start_probes(server_settings, services, server, serving)
    try:
        return await _serve(server, serving, settings, services)
    finally:
        if probes is not None:
            await probes.close()


async def _start_probes(
    server_settings: FastAGISettings,
    services: Services,
    server: FastAGIServer,
    serving: asyncio.Event,
) -> ProbeListener | None:
    """/metrics and the health probes, up from the start (live while the lease is claimed)."""
    if not server_settings.metrics_port:
        return None
    registry = metrics.registry(lambda: server.active_sessions, services.outbox)
    probes = ProbeListener(
        server_settings.metrics_host,
        server_settings.metrics_port,
        render=lambda: generate_latest(registry),
        ready=metrics.readiness(
            serving.is_set, services.api, services.outbox, server_settings.ready_outbox_max
        ),
    )
    await probes.start()
    return probes


async def _serve(
    server: FastAGIServer, serving: asyncio.Event, settings: IvrSettings, services: Services
) -> int:
    lease = NodeLease(services.api, services.tickets, settings.spool_dir, settings.lease_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    claiming = asyncio.create_task(lease.claim_at_start(settings.api_wait_seconds))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({claiming, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not claiming.done():  # asked to stop while waiting for the API
        claiming.cancel()
        await asyncio.gather(claiming, return_exceptions=True)
        await services.aclose()
        return 0
    try:
        claiming.result()
    except NodeIdInUse as exc:
        logger.critical("refusing to start: %s", exc)
        await services.aclose()
        return 2
    if not server.access.secret:
        logger.warning(
            "no AGI secret set (LAPOR_AGI_SECRET): FastAGI peers are checked by address only"
        )
    await server.start()
    serving.set()
    delivery = asyncio.create_task(services.deliverer.run(stop))
    renewal = asyncio.create_task(lease.run(stop))
    status = 0
    try:
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({stopped, renewal}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        lost = renewal.result() if renewal.done() else None
        if lost is not None:
            logger.critical("stopping: %s", lost)
            status = 3
        logger.info("shutting down")
    finally:
        await server.close()
        stop.set()
        await asyncio.gather(delivery, renewal)
        if status == 0:
            await lease.release()
        await services.aclose()
    return status


async def flush(settings: IvrSettings) -> int:
    services = Services.from_settings(settings)
    try:
        try:
            await NodeLease(services.api, services.tickets, settings.spool_dir).seed()
        except (ApiUnavailable, ApiRejected) as exc:
            logger.warning("ticket counter not checked against the API: %s", exc)
        left = await services.deliverer.flush()
    finally:
        await services.aclose()
    logger.info("outbox: %d delivered, %d pending", services.deliverer.delivered, left)
    return 1 if left else 0


def parser() -> argparse.ArgumentParser:
    env: list[tuple[str, object]] = [
        (f"LAPOR_IVR_{f.name.upper()}", f.default) for f in dataclasses.fields(IvrSettings)
    ]
    env += [(API_TOKEN_FILE_ENV, None), *FastAGISettings.ENV.items(), (LOG_LEVEL_ENV, "INFO")]
    env += [(FORMAT_ENV, "text")]
    p = service_parser(
        "lapor-ivr",
        "The IVR server: serve the call center's AGI scripts over FastAGI and deliver the"
        " outbox to the Lapor API. Its settings come from the environment. Status 2: another"
        " IVR holds this node id; 3: another IVR took it later.",
        env,
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["flush"],
        help="flush: raise the ticket counter to the API's, deliver the outbox once and exit"
        " (status 1 if some records are still pending), e.g. from cron on a classic-AGI node",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        configure_logging(os.environ.get(LOG_LEVEL_ENV, "INFO"), "lapor-ivr")
        settings = IvrSettings.from_env()
        if args.action == "flush":
            raise SystemExit(asyncio.run(flush(settings)))
        server_settings = FastAGISettings.from_env()
    except (SettingsError, ValueError) as exc:
        raise SystemExit(f"lapor-ivr: {exc}") from None
    raise SystemExit(asyncio.run(serve(server_settings, settings)))


if __name__ == "__main__":
    main()
