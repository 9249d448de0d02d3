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
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
