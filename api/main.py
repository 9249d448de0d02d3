"""Application factory: build settings, engine and routers here, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.body_limit import BodyLimit
from api.db import make_engine
from api.errors import install_error_handlers
from api.reports.schedule import scheduled
from api.routes import agents, auth, callbacks, complaints, events, health, me, stats, units, users
from api.routes import ivr_nodes as ivr_node_routes
from api.routes import reports as report_routes
from api.routes import sms as sms_routes
from api.settings import ApiSettings


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Create the API for the given settings (from the environment by default)."""
    settings = settings or ApiSettings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with scheduled(engine, settings):
            yield
        engine.dispose()

    app = FastAPI(
        title="Lapor Call Center API",
        version="0.1.0",
        summary="Complaints, call records and KPIs for a city's 24-hour complaint line.",
        lifespan=lifespan,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        routes={("POST", "/events"): settings.events_max_body_bytes},
    )
    app.include_router(health.router)
    app.include_router(me.router)
    app.include_router(events.router)
    app.include_router(stats.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(agents.router)
    app.include_router(complaints.router)
    app.include_router(units.router)
    app.include_router(callbacks.router)
    app.include_router(report_routes.router)
    app.include_router(sms_routes.router)
    app.include_router(ivr_node_routes.router)
    return app
