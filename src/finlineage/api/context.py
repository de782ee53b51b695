"""The per-app bundle of resources, opened and closed by the lifespan and injected into routes.

Routes get it with `Depends(get_ctx)`; nothing imports app state from a module global.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from finlineage.api.metrics import Metrics
from finlineage.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: Metrics
    auth_enabled: bool
    keys: Any
    """Key verifier: `.verify(plaintext) -> record with .name/.role or None`."""
    db_slots: asyncio.Semaphore
    """Requests holding a session at once (`http_threads`); fewer than pooled connections."""
    services: dict[str, Any] = field(default_factory=dict)
    """Optional services registered by later layers (event hub, ingestion, chat), by name."""


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request, taken only when one of `db_slots` is free.

    Sync routes run on a bounded thread pool and a session keeps its connection until the request's
    dependencies are torn down, after the response is serialised on another thread. Without a bound,
    requests that hold connections while waiting for a thread can starve threads waiting for a
    connection: the instance deadlocks. With at most `db_slots` holders and more pooled connections
    than slots, every holder gets a connection, so waiting is in the event loop, never a deadlock.
    """
    ctx = get_ctx(request)
    async with ctx.db_slots:
        session = ctx.sessions()
        try:
            yield session
        finally:
            # closing returns the connection (a rollback round trip on PostgreSQL): not on the loop
            await asyncio.to_thread(session.close)
