"""Real-time layer: event hub (in-process or Redis pub/sub), dashboard WebSockets, activity log,
server lifecycle (admin restart).

Other layers publish through the hub, looked up at call time::

    events = ctx.services.get("events")
    if events is not None:
        events.publish("ingestion_complete", {...}, project_id=pid)   # thread-safe, never raises

See `finlineage.realtime.hub` for the full publishing API and `finlineage.realtime.events` for
the message types and their fields.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware


def register(app: FastAPI) -> None:
    """ROUTERS hook: the realtime routers and the drain/transport middleware (innermost, so refused
    requests still get a request id and an activity record)."""
    from finlineage.api.routers import activity, admin, realtime
    from finlineage.realtime.lifecycle import RealtimeMiddleware

    app.user_middleware.append(Middleware(RealtimeMiddleware))
    app.include_router(realtime.router)
    app.include_router(activity.router)
    app.include_router(admin.router)


def starter(app: FastAPI, ctx: object):  # type: ignore[no-untyped-def]
    """STARTERS hook: opens hub, Redis bridge, activity writer and stats ticker for the app's life."""
    from finlineage.realtime.service import realtime_starter

    return realtime_starter(app, ctx)
