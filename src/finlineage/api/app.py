"""FastAPI app factory. `create_app(settings)` builds a fresh, independent app (tests build many)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from finlineage import __version__
from finlineage.api.context import AppContext
from finlineage.api.errors import install_error_handlers
from finlineage.api.keys import KeyService
from finlineage.api.metrics import Metrics
from finlineage.api.middleware import (
    MIB,
    GuardMiddleware,
    RequestContextMiddleware,
    RequestObserver,
    allowed_host_names,
)
from finlineage.api.openapi import install_openapi
from finlineage.api.routers import keys as keys_routes
from finlineage.api.routers import system
from finlineage.settings import Settings
from finlineage.store import db as store_db

log = logging.getLogger("finlineage.api")

ServiceStarter = Callable[[FastAPI, AppContext], AbstractAsyncContextManager[None]]
"""A later layer's resource (event hub, ingestion pool, chat engine) opened and closed by the lifespan."""


def create_app(
    settings: Settings | None = None,
    *,
    serving_host: str | None = None,
    extra_services: list[ServiceStarter] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    observers: list[RequestObserver] = [metrics.observe_request]
    starters = list(extra_services or []) + _default_services()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_dirs()
        url = settings.effective_database_url
        store_db.migrate(url)
        # Sync routes run in anyio's thread pool. At most `http_threads` requests hold a session
        # (get_session's db_slots); the pool has room for them plus background writers.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        engine = store_db.create_engine_for(url, pool_size=10, max_overflow=max(0, settings.http_threads - 2))
        sessions = store_db.session_factory(engine)
        ctx = AppContext(
            settings=settings,
            engine=engine,
            sessions=sessions,
            metrics=metrics,
            auth_enabled=settings.auth_enabled(serving_host),
            keys=KeyService(sessions, ttl_s=settings.key_cache_ttl_s),
            db_slots=asyncio.Semaphore(settings.http_threads),
        )
        app.state.ctx = ctx
        app.state.request_observers = observers
        try:
            async with _open_all(app, ctx, starters):
                log.info(
                    "finlineage %s ready (store=%s, auth=%s)",
                    __version__,
                    engine.dialect.name,
                    "on" if ctx.auth_enabled else "off",
                )
                yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="finlineage",
        version=__version__,
        description="Column-level lineage for financial SQL: graph, search, impact and cited answers.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["X-Request-ID"],
    )
    # Outside CORS (a foreign Host never reaches a preflight answer), inside the request context.
    app.add_middleware(
        GuardMiddleware,
        allowed_hosts=allowed_host_names(settings.allowed_hosts, serving_host or settings.host),
        max_body_bytes=int(settings.request_max_body_mb * MIB),
        max_json_bytes=int(settings.request_max_json_mb * MIB),
        max_event_bytes=int(settings.openlineage_max_event_mb * MIB),
    )
    app.add_middleware(RequestContextMiddleware, observers=observers)
    install_error_handlers(app, on_error=_error_hook(app))
    install_openapi(app)  # every operation's error responses, derived centrally
    app.include_router(system.router)
    app.include_router(keys_routes.router)
    for include in _router_includers():
        include(app)
    return app


def _error_hook(app: FastAPI) -> Callable[..., None]:
    def on_error(request: Any, status: int, code: str) -> None:
        ctx = getattr(app.state, "ctx", None)
        handler = ctx.services.get("error_events") if ctx else None
        if handler is not None:
            handler(request, status, code)

    return on_error


@asynccontextmanager
async def _open_all(app: FastAPI, ctx: AppContext, starters: list[ServiceStarter]) -> AsyncIterator[None]:
    if not starters:
        yield
        return
    first, rest = starters[0], starters[1:]
    async with first(app, ctx), _open_all(app, ctx, rest):
        yield


def _default_services() -> list[ServiceStarter]:
    """Services of later layers, each opened by the lifespan in this order."""
    from finlineage.api import services

    return list(services.STARTERS)


def _router_includers() -> list[Callable[[FastAPI], None]]:
    from finlineage.api import services

    return list(services.ROUTERS)
