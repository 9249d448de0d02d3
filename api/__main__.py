"""``lapor-api``: serve the API with uvicorn."""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from api.core.db import make_engine
from api.core.migrate import upgrade
from api.core.settings import ApiSettings
from api.main import create_app


def served_app() -> FastAPI:
    """The served app (with its background schedule), everything built so far moved out of
    the garbage collector's way.

    Measured on the ingest: full collections traversing the ~240 000 objects of start-up
    cost about 5 µs per event; frozen, about 0.2 µs.
    """
    app = create_app(background=True)
    gc.freeze()
    return app


def main() -> None:
    settings = ApiSettings()
    upgrade(make_engine(settings.database_url))
    if settings.workers > 1:
        # Each worker process builds its own app (and settings) from the environment.
        uvicorn.run(
            "api.__main__:served_app",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
        return
    uvicorn.run(
        served_app(),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


if __name__ == "__main__":
    main()
