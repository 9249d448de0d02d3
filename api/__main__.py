"""``lapor-api``: serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from api.db import make_engine
from api.main import create_app
from api.migrate import upgrade
from api.settings import ApiSettings


def main() -> None:
    settings = ApiSettings()
    upgrade(make_engine(settings.database_url))
    if settings.workers > 1:
        # Each worker process builds its own app (and settings) from the environment.
        uvicorn.run(
            "api.main:create_app",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
        )
        return
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
