"""Dashboard WebSocket (`/api/v1/ws/dashboard`, legacy `/admin/ws/dashboard`), stats and the route list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, WebSocket
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.middleware import Middleware

from finlineage.api.auth import Principal, resolve_key, viewer
from finlineage.api.context import AppContext, get_ctx
from finlineage.api.errors import ApiError
from finlineage.api.introspection import iter_routes, required_role
from finlineage.realtime.service import ack_data

router = APIRouter(tags=["realtime"])

WS_PATHS = ("/api/v1/ws/dashboard", "/admin/ws/dashboard")


async def dashboard_socket(websocket: WebSocket) -> None:
    """Dashboard events: `connection_ack`, `stats_update`, ingestion, query, error and status events.

    Auth (when on): `?token=<key>` or `Sec-WebSocket-Protocol: finlineage, bearer.<key>`.
    Client messages: `{"type": "ping"}`, `{"type": "subscribe", "projects": [...], "types": [...]}`.
    """
    ctx: AppContext = websocket.app.state.ctx
    manager = ctx.services.get("ws")
    hub = ctx.services.get("events")
    if manager is None or hub is None:
        await websocket.close(code=1011)
        return

    def authenticate(token: str | None) -> Principal | None:
        return resolve_key(ctx, token)

    if manager.revoked_check is None and ctx.auth_enabled:
        manager.revoked_check = ctx.keys.revoked_among

    await manager.serve(
        websocket,
        authenticate=authenticate,
        ack_data=lambda client: ack_data(hub, manager, client),
    )


for _path in WS_PATHS:
    router.add_api_websocket_route(_path, dashboard_socket, name=f"dashboard_ws{_path.replace('/', '_')}")


@router.get("/api/v1/stats", summary="Dashboard numbers (the same as every stats_update)")
async def get_stats(ctx: AppContext = Depends(get_ctx), _: Principal = viewer) -> dict[str, Any]:
    service = ctx.services.get("stats")
    if service is None:
        raise ApiError(503, "unavailable", "the stats service is not running")
    data: dict[str, Any] = await service.current()
    return data


@router.get("/api/v1/endpoints", summary="Every route with its methods, auth role and parameters")
def list_endpoints(
    request: Request,
    tag: str | None = Query(None, description="Only routes carrying this OpenAPI tag."),
    include_params: bool = Query(False, description="Include each route's parameters."),
    _: Principal = viewer,
) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    spec: dict[str, Any] = request.app.openapi() if include_params else {}
    for path, original, effective in iter_routes(request.app.routes):
        if isinstance(original, APIRoute):
            tags = [str(t) for t in (getattr(effective, "tags", None) or original.tags)]
            if tag is not None and tag not in tags:
                continue
            methods = getattr(effective, "methods", None) or original.methods or set()
            item: dict[str, Any] = {
                "path": path,
                "methods": sorted(set(methods) - {"HEAD"}),
                "name": original.name,
                "summary": original.summary or (original.description or "").strip().split("\n")[0] or None,
                "tags": tags,
                "role": required_role(getattr(effective, "dependant", None) or original.dependant),
                "kind": "http",
            }
            if include_params:
                item["params"] = _params(spec, path, methods)
            out.append(item)
        elif isinstance(original, APIWebSocketRoute):
            if tag is not None and tag != "realtime":
                continue
            ws_item: dict[str, Any] = {
                "path": path,
                "methods": ["GET"],
                "name": original.name,
                "summary": "WebSocket",
                "tags": ["realtime"],
                "role": "viewer",
                "kind": "websocket",
            }
            if include_params:
                ws_item["params"] = [
                    {
                        "name": "token",
                        "in": "query",
                        "required": False,
                        "type": "string",
                        "default": None,
                        "description": "API key (or Sec-WebSocket-Protocol: finlineage, bearer.<key>)",
                    },
                ]
            out.append(ws_item)
    out.sort(key=lambda r: (r["path"], r["methods"]))
    return {"count": len(out), "endpoints": out}


def _params(spec: dict[str, Any], path: str, methods: Any) -> list[dict[str, Any]]:
    """Parameters as documented in the OpenAPI schema (path, query, header, body)."""
    params: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for method in sorted(set(methods) - {"HEAD"}):
        operation = spec.get("paths", {}).get(path, {}).get(method.lower(), {})
        for p in operation.get("parameters", []):
            key = (p.get("name", ""), p.get("in", ""))
            if key in seen or key[0].lower() in ("authorization", "x-api-key"):
                continue
            seen.add(key)
            schema = p.get("schema", {})
            params.append(
                {
                    "name": key[0],
                    "in": key[1],
                    "required": bool(p.get("required", False)),
                    "type": schema.get("type") or _any_of(schema),
                    "default": schema.get("default"),
                    "description": p.get("description"),
                }
            )
        body = operation.get("requestBody")
        if body and ("body", "body") not in seen:
            seen.add(("body", "body"))
            params.append(
                {
                    "name": "body",
                    "in": "body",
                    "required": bool(body.get("required", False)),
                    "type": ", ".join(sorted(body.get("content", {}))),
                    "default": None,
                    "description": body.get("description"),
                }
            )
    return params


def _any_of(schema: dict[str, Any]) -> str | None:
    options = [o.get("type") for o in schema.get("anyOf", []) if o.get("type") and o.get("type") != "null"]
    if options:
        return "|".join(options)
    ref = schema.get("$ref")
    return str(ref).rsplit("/", 1)[-1] if ref else None


def register(app: FastAPI) -> None:
    """ROUTERS hook: the realtime routers and the drain/transport middleware (innermost, so refused
    requests still get a request id and an activity record)."""
    from finlineage.api.routers import activity, admin
    from finlineage.realtime.lifecycle import RealtimeMiddleware

    app.user_middleware.append(Middleware(RealtimeMiddleware))
    app.include_router(router)
    app.include_router(activity.router)
    app.include_router(admin.router)
