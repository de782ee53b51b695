"""Pure-ASGI middleware (no BaseHTTPMiddleware: it breaks streaming and costs a task per request)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finlineage.realtime.activity import route_template

__all__ = ["RequestContextMiddleware", "RequestObserver", "route_template"]

RequestObserver = Callable[[Scope, int, float], None]
"""Called after each HTTP response with (scope, status, latency_seconds)."""


class RequestContextMiddleware:
    """Assigns X-Request-ID, times the request and tells the observers (metrics, activity)."""

    def __init__(self, app: ASGIApp, observers: list[RequestObserver] | None = None) -> None:
        self.app = app
        self.observers = observers if observers is not None else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            for observer in self.observers:
                # An observer (metrics, activity) must never break a request.
                with contextlib.suppress(Exception):
                    observer(scope, status_holder["status"], elapsed)
