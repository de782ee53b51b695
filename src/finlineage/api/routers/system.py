"""/health and /metrics: public, so load balancers and Prometheus can reach them without a key."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text

from finlineage import __version__
from finlineage.api.auth import resolve_key
from finlineage.api.context import AppContext, get_ctx

router = APIRouter(tags=["system"])

PUBLIC_PATHS = frozenset({"/health", "/metrics"})


def _database_health(ctx: AppContext) -> dict[str, Any]:
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "up", "backend": ctx.engine.dialect.name}
    except Exception as exc:  # report, don't raise: health must always answer
        return {"status": "down", "backend": ctx.engine.dialect.name, "error": type(exc).__name__}


async def component_health(ctx: AppContext) -> dict[str, dict[str, Any]]:
    components: dict[str, dict[str, Any]] = {"database": await asyncio.to_thread(_database_health, ctx)}
    for name in ("redis", "llm", "embeddings", "activity", "ingestion", "events"):
        service = ctx.services.get(name)
        probe = getattr(service, "health", None)
        if probe is None:
            components[name] = {"status": "disabled"}
            continue
        try:
            result = probe()
            if inspect.isawaitable(result):
                result = await asyncio.wait_for(result, timeout=3)
            components[name] = dict(result)
        except Exception as exc:
            components[name] = {"status": "down", "error": type(exc).__name__}
    return components


def _detailed(request: Request, ctx: AppContext) -> bool:
    """Details (paths, PIDs, counters) only for a caller with a valid key, or with auth off."""
    if not ctx.auth_enabled:
        return True
    presented = request.headers.get("x-api-key")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not presented and scheme.lower() == "bearer":
        presented = token.strip()
    return resolve_key(ctx, presented) is not None


@router.get(
    "/health",
    summary="Health of every component",
    description="Without a key (auth on) only `status` per component; details need a valid key.",
)
async def health(request: Request, ctx: AppContext = Depends(get_ctx)) -> dict[str, Any]:
    components = await component_health(ctx)
    if not await asyncio.to_thread(_detailed, request, ctx):
        components = {name: {"status": c.get("status", "unknown")} for name, c in components.items()}
    lifecycle = ctx.services.get("lifecycle")
    status = "healthy"
    if any(c.get("status") == "down" for c in components.values()):
        status = "degraded"
    if lifecycle is not None and getattr(lifecycle, "status", "healthy") != "healthy":
        status = lifecycle.status
    return {"status": status, "version": __version__, "components": components}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(ctx: AppContext = Depends(get_ctx)) -> Response:
    return Response(ctx.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
