"""Wiring: the lifespan starter that opens the realtime layer, and its registration hook.

`realtime_starter(app, ctx)` registers in `ctx.services`:

* `events`     — the `EventHub` (publishing API for every layer, see `finlineage.realtime.hub`)
* `ws`         — the `ConnectionManager` (dashboard WebSockets)
* `activity`   — the `ActivityWriter` (also appended to `app.state.request_observers`)
* `lifecycle`  — status, draining and the admin restart
* `stats`      — `StatsService` (the numbers behind `/api/v1/stats` and `stats_update`)
* `redis`      — health of the Redis bridge (only when `FINLINEAGE_REDIS_URL` is set)
* `error_events` — the 5xx hook called by `api.errors` → an `error` event

and runs the stats ticker. On shutdown it closes the WebSockets (with a `disconnect_notice`),
stops the hub and flushes the activity log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from finlineage import __version__
from finlineage.query import stats as stats_query
from finlineage.realtime.activity import ActivityWriter
from finlineage.realtime.connections import Client, ConnectionManager
from finlineage.realtime.hub import EventHub, InstanceInfo, RedisHealth
from finlineage.realtime.lifecycle import Lifecycle

log = logging.getLogger("finlineage.realtime")


class StatsService:
    def __init__(self, ctx: Any, hub: EventHub, manager: ConnectionManager) -> None:
        self.ctx = ctx
        self.hub = hub
        self.manager = manager
        self.ticks = 0
        self.last_error: str | None = None
        self._last_compute = float("-inf")

    async def current(self) -> dict[str, Any]:
        clients = await self.hub.cluster_client_count(self.manager.count)
        return await asyncio.to_thread(self._compute, clients)

    def _compute(self, clients: int) -> dict[str, Any]:
        settings = self.ctx.settings
        with self.ctx.sessions() as session:
            data = stats_query.stats(
                session,
                active_queries=self.hub.active("query"),
                connected_clients=clients,
                window_h=settings.stats_trend_window_h,
            )
            with contextlib.suppress(Exception):
                stats_query.maybe_snapshot(session, data, min_interval_s=settings.stats_snapshot_interval_s)
        return data

    async def tick(self) -> None:
        settings = self.ctx.settings
        await self.hub.set_client_count(self.manager.count, ttl_s=3 * settings.stats_interval_s)
        loop = asyncio.get_running_loop()
        snapshot_due = loop.time() - self._last_compute >= settings.stats_snapshot_interval_s
        if self.manager.count == 0 and not snapshot_due:
            return  # nobody listening here, and the history is fresh enough
        data = await self.current()
        self._last_compute = loop.time()
        self.hub.publish_local("stats_update", data)
        self.ticks += 1

    def system_status(self, tick_failed: bool) -> tuple[str, str | None]:
        """`degraded` while the store, the Redis bridge or the activity log is failing."""
        reasons = []
        if tick_failed:
            reasons.append(f"store: {self.last_error}")
        if self.hub.redis_url and not self.hub.redis_connected:
            reasons.append("redis event bridge down")
        activity = self.ctx.services.get("activity")
        if activity is not None and getattr(activity, "failing", None):
            reasons.append("activity log failing: " + ", ".join(sorted(activity.failing)))
        return ("degraded", "; ".join(reasons)) if reasons else ("healthy", None)

    async def run(self) -> None:
        interval = max(0.1, self.ctx.settings.stats_interval_s)
        while True:
            await asyncio.sleep(interval)
            failed = False
            try:
                await self.tick()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be down: report, keep ticking
                if self.last_error is None:
                    log.warning("stats update failed: %s", exc)
                self.last_error = type(exc).__name__
                failed = True
            lifecycle = self.ctx.services.get("lifecycle")
            if lifecycle is not None and lifecycle.status != "restarting":
                status, reason = self.system_status(failed)
                lifecycle.set_status(status, reason)


def error_event_hook(hub: EventHub) -> Any:
    """`ctx.services["error_events"]`: every 5xx becomes an `error` event (no stack trace)."""

    def on_error(request: Request, status: int, code: str) -> None:
        route = request.scope.get("route")
        hub.publish(
            "error",
            {
                "error_type": code,
                "severity": "critical" if status >= 500 and status != 503 else "error",
                "endpoint": getattr(route, "path", None) or request.url.path,
                "request_id": str(getattr(request.state, "request_id", "") or "") or None,
                "status_code": status,
            },
        )

    return on_error


@asynccontextmanager
async def realtime_starter(app: FastAPI, ctx: Any) -> AsyncIterator[None]:
    settings = ctx.settings
    instance = InstanceInfo(pid=os.getpid())
    activity = ActivityWriter(settings, ctx.engine)
    activity.start()
    observers = getattr(app.state, "request_observers", None)
    if isinstance(observers, list):
        observers.append(activity.observe_request)
    manager = ConnectionManager(settings, ctx.metrics)
    manager.start()
    hub = EventHub(settings, instance=instance, metrics=ctx.metrics, recorder=activity.record_domain_event)
    hub.add_sink(manager.broadcast)
    await hub.start()
    stats = StatsService(ctx, hub, manager)

    def broadcast_status(status: str, reason: str | None) -> None:
        hub.publish("system_status_change", {"status": status, "reason": reason})

    lifecycle = Lifecycle(
        settings,
        broadcast_status=broadcast_status,
        flush_activity=activity.flush,
        close_websockets=manager.close_all,
        services=ctx.services,
    )
    ctx.services.update(
        events=hub,
        ws=manager,
        activity=activity,
        lifecycle=lifecycle,
        stats=stats,
        error_events=error_event_hook(hub),
    )
    if settings.redis_url:
        ctx.services["redis"] = RedisHealth(hub)
        if not await hub.wait_ready(timeout=2.0):
            log.warning("redis event bridge not ready at start-up; events stay local until it is")
    ticker = asyncio.create_task(stats.run(), name="stats-ticker")
    log.info(
        "realtime ready (instance %s, %s)",
        instance.instance_id,
        "redis" if settings.redis_url else "in-process",
    )
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await ticker
        with contextlib.suppress(Exception):
            await manager.close_all("server shutting down", code=1001)
        await manager.stop()
        await hub.stop()
        if isinstance(observers, list) and activity.observe_request in observers:
            observers.remove(activity.observe_request)
        await activity.close()
        for name in ("events", "ws", "lifecycle", "stats", "error_events", "redis"):
            ctx.services.pop(name, None)


def ack_data(hub: EventHub, manager: ConnectionManager, client: Client) -> dict[str, Any]:
    return {
        "server_version": __version__,
        "connection_id": client.id,
        "principal": client.principal,  # who this socket acts as (the page's maker-checker hints)
        "instance_id": hub.instance.instance_id,
        "started_at": hub.instance.started_at,
        "pid": hub.instance.pid,
        "limits": manager.limits(),
        "subscribed": {"types": None, "projects": None},
    }
