"""Application factory: build settings, engine and routers here, never at import time.

The live-push hub (api/live) runs in every app's lifespan. Background work (the daily
report's schedule, the daily retention purge, the browser phones' sweep, the sender of
status SMS, the callbacks' virtual-hold dialer) runs only in the served process:
``lapor-api`` asks for it, and an app made by ``create_app`` alone (tests, benchmarks,
tools) has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from api.agents import routes as agents
from api.audit import routes as audit
from api.blocklist import routes as blocklist
from api.callbacks import routes as callbacks
from api.callbacks import vhold
from api.collectors import routes as collectors
from api.complaints import attachment_routes as attachments
from api.complaints import routes as complaints
from api.complaints import unit_routes as units
from api.console import routes as console
from api.core import health_routes as health
from api.core import metrics_routes
from api.core.body_limit import BodyLimit
from api.core.call_context import CallContext
from api.core.db import make_engine
from api.core.errors import install_error_handlers
from api.core.metrics import HttpMetrics, worker_exit
from api.core.settings import ApiSettings
from api.desk import blocklist as desk_blocklist
from api.desk import routes as desk
from api.events import routes as events
from api.ivr_nodes import routes as ivr_node_routes
from api.live.hub import LiveHub
from api.people import auth_routes as auth
from api.people import me_routes as me
from api.people import phone_sweep
from api.people import user_routes as users
from api.queue_log import routes as queue_log
from api.recordings import routes as recordings
from api.refused import routes as refused
from api.reports import routes as report_routes
from api.reports import schedule as report_schedule
from api.retention import routes as retention
from api.retention import schedule as retention_schedule
from api.sms import routes as sms_routes
from api.sms import status_routes as status_sms
from api.sms import status_sender
from api.stats import routes as stats
from api.supervision import routes as supervision
from api.surveys import routes as surveys
from api.wallboard import routes as wallboard
from api.web import routes as web

# Refused before complaints: its /complaints/refused paths would read as /complaints/{ticket}.
ROUTES = (
    health,
    metrics_routes,
    me,
    events,
    queue_log,
    stats,
    auth,
    users,
    agents,
    refused,
    complaints,
    attachments,
    units,
    callbacks,
    surveys,
    report_routes,
    sms_routes,
    status_sms,
    ivr_node_routes,
    collectors,
    supervision,
    blocklist,
    retention,
    recordings,
    audit,
)


def create_app(settings: ApiSettings | None = None, *, background: bool = False) -> FastAPI:
    """Create the API for the given settings (from the environment by default).

    With ``background``, the app's lifespan also runs the daily report's schedule and the
    daily retention purge (if the settings enable them, as they do by default), and the
    sweep of browser phone passwords whose session is over, the sender of status SMS
    (unless ``status_sms_via`` is off) and the virtual-hold dialer (api/callbacks/vhold.py,
    with the AMI control secret); only the served process asks for that.
    """
    settings = settings or ApiSettings()
    engine = make_engine(settings.database_url)
    live = LiveHub(
        engine,
        keep=timedelta(hours=settings.live_keep_hours),
        poll_seconds=settings.live_poll_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The live hub runs in every app (its subscribers are the officers' browsers).
        await live.start()
        try:
            async with AsyncExitStack() as jobs:
                if background:
                    await jobs.enter_async_context(report_schedule.scheduled(engine, settings))
                    await jobs.enter_async_context(retention_schedule.scheduled(engine, settings))
                    await jobs.enter_async_context(phone_sweep.scheduled(engine, settings))
                    await jobs.enter_async_context(status_sender.scheduled(engine, settings))
                    await jobs.enter_async_context(vhold.scheduled(engine, settings))
                yield
        finally:
            await live.stop()
            engine.dispose()
            worker_exit()

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
    app.state.live = live
    install_error_handlers(app)
    # Innermost of ours: it sees the route the router matched.
    app.add_middleware(HttpMetrics)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        routes={
            ("POST", "/events"): settings.events_max_body_bytes,
            ("POST", "/queue-log/{node}"): settings.events_max_body_bytes,
            ("POST", "/complaints/{ticket}/attachments"): settings.upload_max_body_bytes,
            ("POST", "/desk/complaints/{ticket}/status"): settings.upload_max_body_bytes,
        },
    )
    # Outermost: the whole request, its access log line included, is in the call's context.
    app.add_middleware(CallContext)
    for routes in ROUTES:
        app.include_router(routes.router)
    web.install(app)
    app.include_router(console.router)
    app.include_router(wallboard.router)
    app.include_router(desk.router)
    app.include_router(desk_blocklist.router)
    return app
