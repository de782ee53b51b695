"""Pure-ASGI middleware (no BaseHTTPMiddleware: it breaks streaming and costs a task per request).

* `RequestContextMiddleware` — X-Request-ID, timing, request observers (metrics, activity).
* `GuardMiddleware` — the Host-header allowlist (HTTP and WebSocket, auth on or off: DNS
  rebinding) and the request body limit, enforced while the body streams in (chunked bodies
  included): past the limit the client gets 413 at once and the app never sees another byte.
"""

from __future__ import annotations

import collections.abc
import contextlib
import ipaddress
import json
import random
import re
import time
from collections.abc import Callable, Iterable
from types import UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin
from urllib.parse import parse_qsl

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finlineage.realtime.activity import route_template

T = TypeVar("T")

__all__ = [
    "GuardMiddleware",
    "RequestContextMiddleware",
    "RequestObserver",
    "allowed_host_names",
    "route_template",
]

RequestObserver = Callable[[Scope, int, float], None]
"""Called after each HTTP response with (scope, status, latency_seconds)."""

MIB = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _new_request_id() -> str:
    """32 hex digits, like `uuid4().hex`, from the process's PRNG: a correlation id, not a secret,
    so no `getrandom` system call per request (costly on sandboxed kernels). `random` reseeds
    itself in forked workers."""
    return f"{random.getrandbits(128):032x}"


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
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else _new_request_id()
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


# ---------------------------------------------------------------------------------------- hosts


def _normal_host(value: str) -> str:
    """`Host` header value → lower-case host name without port or IPv6 brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def allowed_host_names(configured: Iterable[str], serving_host: str | None) -> frozenset[str]:
    """The Host names served: FINLINEAGE_ALLOWED_HOSTS, or loopback names plus the bind address."""
    names = {_normal_host(h) for h in configured if h.strip()}
    if not names:
        names = {"localhost", "127.0.0.1", "::1"}
        if serving_host and serving_host not in ("0.0.0.0", "::", "[::]"):
            names.add(_normal_host(serving_host))
    return frozenset(names)


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    if "*" in allowed:
        return True
    if not header:
        return False
    host = _normal_host(header)
    if host in allowed:
        return True
    # `*.example.com` entries allow subdomains (never a bare IP)
    for entry in allowed:
        if entry.startswith("*.") and host.endswith(entry[1:]):
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(host)
                return False
            return True
    return False


# ----------------------------------------------------------------------------------- body limits


class _RouteTable(Generic[T]):
    """One value per route (``pick`` of the route; routes it gives None are left out), matched
    by method and path template as the router does. Read from the app's routes once, on first use."""

    def __init__(self, pick: Callable[[Any], T | None]) -> None:
        self.pick = pick
        self._rows: list[tuple[re.Pattern[str], frozenset[str], T]] | None = None

    def _load(self, app: Any) -> list[tuple[re.Pattern[str], frozenset[str], T]]:
        from finlineage.api.introspection import iter_routes

        rows: list[tuple[re.Pattern[str], frozenset[str], T]] = []
        for path, original, effective in iter_routes(getattr(app, "routes", [])):
            value = self.pick(original)
            if value is not None:
                methods = getattr(effective, "methods", None) or getattr(original, "methods", None) or ()
                rows.append((compile_path(path)[0], frozenset(methods), value))
        return rows

    def lookup(self, scope: Scope) -> T | None:
        if self._rows is None:
            self._rows = self._load(scope.get("app"))
        path, method = scope.get("path", ""), scope.get("method", "")
        for pattern, methods, value in self._rows:
            if method in methods and pattern.match(path):
                return value
        return None


def _form_body(route: Any) -> bool | None:
    """True for a route whose body is a form (file uploads)."""
    from fastapi.params import Form

    body = getattr(route, "body_field", None)
    return True if body is not None and isinstance(getattr(body, "field_info", None), Form) else None


OPENLINEAGE_EVENTS_PATH = "/api/v1/lineage"


class _Limits:
    """Which body limit a request gets: routes with a form body (file uploads) get the request
    limit, OpenLineage events theirs, every other route the small JSON limit."""

    def __init__(self, request_bytes: int, json_bytes: int, event_bytes: int) -> None:
        self.request_bytes = request_bytes
        self.json_bytes = json_bytes
        self.event_bytes = event_bytes
        self._form_routes = _RouteTable(_form_body)

    def for_request(self, scope: Scope, content_type: str) -> int:
        if scope.get("path") == OPENLINEAGE_EVENTS_PATH and scope.get("method") == "POST":
            return self.event_bytes
        if not content_type.startswith(FORM_TYPES):
            return self.json_bytes
        return self.request_bytes if self._form_routes.lookup(scope) else self.json_bytes

    def setting(self, limit: int) -> str:
        """The setting that raises the limit a request body went over."""
        if limit == self.request_bytes:
            return "FINLINEAGE_REQUEST_MAX_BODY_MB"
        if limit == self.event_bytes:
            return "FINLINEAGE_OPENLINEAGE_MAX_EVENT_MB"
        return "FINLINEAGE_REQUEST_MAX_JSON_MB"


def _is_sequence(annotation: Any) -> bool:
    """list[str], Sequence[str] | None, ... (a query parameter that may repeat)."""
    origin = get_origin(annotation)
    if origin in (Union, UnionType):
        return any(_is_sequence(a) for a in get_args(annotation))
    return origin in (list, tuple, set, frozenset) or origin is collections.abc.Sequence


def _scalar_query_params(route: Any) -> frozenset[str] | None:
    """Aliases of the query parameters a route declares as single values."""
    from fastapi.dependencies.utils import get_flat_params
    from fastapi.params import Query

    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    scalars = frozenset(
        f.alias
        for f in get_flat_params(dependant)
        if isinstance(f.field_info, Query) and not _is_sequence(f.field_info.annotation)
    )
    return scalars or None


class _QueryRules:
    """Query parameters a route declares as single values: a repeated one is refused (422)
    instead of FastAPI silently keeping the last."""

    def __init__(self) -> None:
        self._scalars = _RouteTable(_scalar_query_params)

    def repeated(self, scope: Scope) -> str | None:
        """The first single-value parameter given more than once, if any."""
        query = scope.get("query_string", b"")
        if not query:
            return None
        seen: set[str] = set()
        twice: set[str] = set()
        for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            (twice if name in seen else seen).add(name)
        if not twice:
            return None
        hit = sorted(twice & (self._scalars.lookup(scope) or frozenset()))
        return hit[0] if hit else None


def _error_body(status: int, code: str, message: str, scope: Scope, details: Any = None) -> bytes:
    request_id = str(scope.get("state", {}).get("request_id", ""))
    return json.dumps(
        {"error": code, "message": message, "request_id": request_id, "details": details}
    ).encode()


async def _send_error(
    send: Send, scope: Scope, status: int, code: str, message: str, details: Any = None
) -> None:
    body = _error_body(status, code, message, scope, details)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Host allowlist and streamed body limits, before anything else reads the request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: frozenset[str],
        max_body_bytes: int,
        max_json_bytes: int,
        max_event_bytes: int,
    ) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.limits = _Limits(max_body_bytes, max_json_bytes, max_event_bytes)
        self.query_rules = _QueryRules()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host, self.allowed_hosts):
            await self._refuse_host(scope, receive, send, host)
            return
        if kind == "http" and (name := self.query_rules.repeated(scope)) is not None:
            await _send_error(
                send,
                scope,
                422,
                "validation_error",
                f"query parameter {name[:100]!r} takes one value and was given several",
                [{"loc": ["query", name[:100]], "msg": "repeated", "type": "repeated_parameter"}],
            )
            return
        if kind == "websocket" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.limits.for_request(scope, content_type)
        length = headers.get(b"content-length")
        if (
            length is not None
            and length.strip().isascii()
            and length.strip().isdigit()
            and int(length) > limit
        ):
            await self._too_large(scope, send, limit)
            return
        await self._limited(scope, receive, send, limit)

    async def _refuse_host(self, scope: Scope, receive: Receive, send: Send, host: str) -> None:
        message = f"host {host[:100]!r} is not served here (FINLINEAGE_ALLOWED_HOSTS)"
        if scope["type"] == "http":
            await _send_error(send, scope, 400, "host_not_allowed", message)
            return
        # WebSocket: answer the handshake with HTTP 400 (denial response), else a policy close.
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            body = _error_body(400, "host_not_allowed", message, scope)
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": "host_not_allowed"})

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        await _send_error(
            send,
            scope,
            413,
            "too_large",
            f"request body over {limit / MIB:g} MiB (raise {self.limits.setting(limit)})",
            {"limit_bytes": limit},
        )

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        state = {"received": 0, "over": False, "started": False}

        async def guarded_receive() -> Message:
            if state["over"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    # Answer now; the app is told the client went away and never gets these bytes.
                    state["over"] = True
                    if not state["started"]:
                        state["started"] = True
                        await self._too_large(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # the 413 is the answer; whatever the app says after the disconnect is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
