"""Walk every registered route with auth on: each rejects a missing key (401) and a too-weak key (403).

The role a route needs is read from its dependency tree (`require_<role>`), so a new route without an
auth dependency fails `test_every_route_declares_a_role` instead of silently being public.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from finlineage.api.introspection import iter_routes, required_role

# The page shell and its static assets are public: they hold no data, and the page asks for a key.
PUBLIC = {
    "/health",
    "/metrics",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/",
    "/favicon.ico",
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(client: TestClient, kind: type) -> list[Any]:
    return [
        effective
        for _path, original, effective in iter_routes(client.app.routes)  # type: ignore[attr-defined]
        if isinstance(original, kind)
    ]


def _role(route: Any) -> str | None:
    return required_role(route.dependant)


def test_every_route_declares_a_role(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth="on")
    unprotected = [r.path for r in _routes(client, APIRoute) if r.path not in PUBLIC and _role(r) is None]
    assert unprotected == []


def test_every_route_rejects_missing_and_weak_keys(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth="on")
    keys = client.app.state.ctx.keys  # type: ignore[attr-defined]
    viewer_key, _ = keys.create(name="route-walk-viewer", role="viewer")
    editor_key, _ = keys.create(name="route-walk-editor", role="editor")
    checked = 0
    for route in _routes(client, APIRoute):
        if route.path in PUBLIC:
            continue
        role = _role(route)
        url = _concrete(route.path)
        for method in sorted(route.methods - {"HEAD"}):
            missing = client.request(method, url)
            assert missing.status_code == 401, (method, route.path, missing.status_code)
            assert missing.json()["error"] in {"missing_api_key", "invalid_api_key"}
            bad = client.request(method, url, headers={"X-API-Key": "not-a-key"})
            assert bad.status_code == 401, (method, route.path)
            weaker = {"editor": viewer_key, "admin": editor_key}.get(role or "")
            if weaker:
                resp = client.request(method, url, headers={"Authorization": f"Bearer {weaker}"})
                assert resp.status_code == 403, (method, route.path, resp.status_code)
            checked += 1
    assert checked > 0


def test_websocket_routes_require_a_token(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth="on")
    ws_routes = _routes(client, APIWebSocketRoute)
    assert ws_routes, "the dashboard WebSocket should be registered"
    for route in ws_routes:
        try:
            with client.websocket_connect(_concrete(route.path)) as ws:
                ws.receive_json()
        except WebSocketDisconnect as exc:
            assert exc.code in {1008, 4401}
        except Exception as exc:  # a denial response before accept
            assert "401" in str(exc) or "403" in str(exc), (route.path, exc)
        else:
            raise AssertionError(f"{route.path} accepted a connection without a token")
