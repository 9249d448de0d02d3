"""``lapor-api``: serve the API with uvicorn."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.core.command import run
from api.core.db import make_engine
from api.core.metrics import MULTIPROC_ENV
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app
from ivr.commandline import service_parser, settings_env
from ivr.logs import FORMAT_ENV, log_format, logging_config


def served_app() -> FastAPI:
    """The served app (with its background schedule), everything built so far moved out of
    the garbage collector's way.

    Measured on the ingest: full collections traversing the ~240 000 objects of start-up
    cost about 5 µs per event; frozen, about 0.2 µs.
    """
    app = create_app(background=True)
    gc.freeze()
    return app


def parser() -> argparse.ArgumentParser:
    return service_parser(
        "lapor-api",
        "Serve the Lapor call center's HTTP API with uvicorn, after bringing the database"
        " schema up to date. Takes no arguments: its settings come from the environment.",
        [*settings_env(ApiSettings), (FORMAT_ENV, "text")],
        env_note=" (or a .env file in the current folder)",
    )


def main(argv: list[str] | None = None) -> None:
    parser().parse_args(argv)
    raise SystemExit(run("lapor-api", serve))


def serve() -> int:
    settings = ApiSettings()
    try:
        log_config = logging_config("lapor-api", settings.log_level, log_format())
    except ValueError as exc:  # LAPOR_LOG_FORMAT
        print(f"lapor-api: {exc}", file=sys.stderr)
        return 1
    upgrade(make_engine(settings.database_url))
    options: dict[str, Any] = {
        # One format for uvicorn's lines (access log included) and ours, in every worker.
        "log_config": log_config,
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    if settings.workers > 1:
        # Each worker process builds its own app (and settings) from the environment, and
        # writes its metrics where GET /metrics (any worker's) sums them all.
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="lapor-api-metrics-")
        try:
            uvicorn.run(
                "api.__main__:served_app", factory=True, workers=settings.workers, **options
            )
        finally:
            shutil.rmtree(os.environ.pop(MULTIPROC_ENV), ignore_errors=True)
    else:
        uvicorn.run(served_app(), **options)
    return 0


if __name__ == "__main__":
    main()
