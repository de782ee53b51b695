"""Activity and event metrics: `/api/v1/activity/recent`, `/api/v1/metrics/activity`, `/api/v1/metrics/events`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query

from finlineage.api.auth import ROLE_RANK, Principal, viewer
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError
from finlineage.query import stats as stats_query
from finlineage.store.models import utcnow

router = APIRouter(tags=["activity"])


@router.get("/api/v1/activity/recent", summary="Recent activity events, newest first")
async def recent(
    limit: int = Query(50, ge=1, le=1000),
    type: str | None = Query(
        None, max_length=64, description="request, ingestion_started, query_complete, …"
    ),
    ctx: AppContext = Depends(get_ctx),
    principal: Principal = viewer,
) -> dict[str, Any]:
    activity = ctx.services.get("activity")
    if activity is not None:
        await activity.flush(2.0)  # what has happened so far is visible
    admin = ROLE_RANK[principal.role] >= ROLE_RANK["admin"]

    def load() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            return stats_query.recent_activity(session, limit=limit, type_=type, include_identity=admin)

    events = await asyncio.to_thread(load)
    return {"count": len(events), "events": events}


@router.get(
    "/api/v1/metrics/activity", summary="Request counts, error rate and latency percentiles per endpoint"
)
async def activity_metrics(ctx: AppContext = Depends(get_ctx), _: Principal = viewer) -> dict[str, Any]:
    hub = ctx.services.get("events")
    if hub is None:
        raise ApiError(503, "unavailable", "the realtime service is not running")
    activity = ctx.services.get("activity")
    if activity is not None:
        await activity.flush(2.0)
    started = hub.instance.started_at
    day_ago = utcnow() - timedelta(hours=24)

    def load() -> dict[str, Any]:
        with ctx.sessions() as session:
            return {
                "since_start": stats_query.activity_metrics(session, started),
                "last_24h": stats_query.activity_metrics(session, day_ago),
            }

    return await asyncio.to_thread(load)


@router.get("/api/v1/metrics/events", summary="Dashboard event counters, connections and activity-log health")
def event_metrics(ctx: AppContext = Depends(get_ctx), _: Principal = viewer) -> dict[str, Any]:
    hub = ctx.services.get("events")
    manager = ctx.services.get("ws")
    activity = ctx.services.get("activity")
    if hub is None or manager is None:
        raise ApiError(503, "unavailable", "the realtime service is not running")
    return {
        "instance": hub.health(),
        "events": hub.counters(),
        "websocket": manager.snapshot(),
        "activity": activity.health() if activity is not None else None,
        "redis": hub.redis_health(),
    }
