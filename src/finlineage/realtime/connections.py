"""Dashboard WebSocket connections: admission, per-client send queues, personal replies.

Admission happens before `accept()`: Origin allowlist (403), API key (401), draining (503),
per-IP and global caps (503) — each answered with an HTTP denial response when the server
supports the WebSocket Denial Response extension (uvicorn does), else close code 1008/1013.

Broadcast never awaits a client: the message (serialised once) is put on each client's bounded
queue and a per-client writer task sends it. A client whose queue fills, or whose send does not
complete within `WEBSOCKET_SEND_TIMEOUT_S`, is dropped by aborting its transport: a polite close
would queue behind the blocked write and keep the kernel buffers (MBs per socket) alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from finlineage.realtime.events import EVENT_TYPES, PERSONAL_TYPES, Event, InvalidEvent, build_message, utcnow
from finlineage.settings import Settings

log = logging.getLogger("finlineage.realtime.ws")

TRANSPORT_SCOPE_KEY = "finlineage.transport"
"""Set by `RealtimeMiddleware` to the connection's asyncio transport (so a stalled peer can be aborted)."""
SUBPROTOCOL = "finlineage"
TOKEN_PROTOCOL_PREFIX = "bearer."
CLOSE = object()
SUBSCRIBABLE_TYPES = frozenset(EVENT_TYPES) - PERSONAL_TYPES


@dataclass(eq=False)
class Client:
    id: str
    websocket: WebSocket
    ip: str
    origin: str | None
    principal: str
    queue: asyncio.Queue[Any]
    key_id: int | None = None
    tokens: float = 0.0
    refilled_at: float = 0.0
    types: frozenset[str] | None = None
    projects: frozenset[str] | None = None
    writer: asyncio.Task[None] | None = None
    dropped: bool = False
    closed: bool = False
    sending_since: float | None = None
    sent: int = 0
    close_code: int = 1000
    close_reason: str = ""
    connected_at: float = field(default_factory=lambda: asyncio.get_running_loop().time())

    def wants(self, event: Event) -> bool:
        if self.types is not None and event.type not in self.types:
            return False
        return not (
            self.projects is not None and event.project is not None and event.project not in self.projects
        )


class Admission:
    """Why a connection is refused before accept: HTTP status, close code, message."""

    def __init__(self, status: int, close_code: int, code: str, message: str) -> None:
        self.status = status
        self.close_code = close_code
        self.code = code
        self.message = message


class ConnectionManager:
    def __init__(self, settings: Settings, metrics: Any = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clients: dict[str, Client] = {}
        self.per_ip: Counter[str] = Counter()
        self.reserved = 0
        self.refused: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.total_connections = 0
        self.accepting = True
        self._watchdog: asyncio.Task[None] | None = None
        self._fanout_task: asyncio.Task[None] | None = None
        self._fanout_pending: deque[tuple[Client | None, Any]] = deque()
        self._fanout_wakeup = asyncio.Event()
        self._revocation_task: asyncio.Task[None] | None = None
        self.revoked_check: Callable[[set[int]], set[int]] | None = None
        """Which of these key ids are revoked (a store read, run off the loop); set by the API."""
        self.allowed_origins = frozenset(o.rstrip("/") for o in settings.allowed_origins)

    # ------------------------------------------------------------------ admission

    @property
    def count(self) -> int:
        return len(self.clients)

    def check_origin(self, origin: str | None, host: str | None = None) -> Admission | None:
        """Allowed: an origin on the allowlist, or the page's own origin (Origin names the Host the
        request was sent to: the dashboard served by this server, on whatever port it runs)."""
        if origin is None:
            if self.settings.websocket_allow_no_origin:
                return None
            return Admission(403, 1008, "origin_required", "an Origin header is required")
        if origin.rstrip("/") in self.allowed_origins or "*" in self.allowed_origins:
            return None
        parsed = urlsplit(origin)
        if host and parsed.scheme in ("http", "https") and parsed.netloc.lower() == host.lower():
            return None
        return Admission(403, 1008, "origin_not_allowed", f"origin {origin!r} is not allowed")

    def reserve(self, ip: str) -> Admission | None:
        """Take a slot for `ip` (synchronously: no await between check and increment)."""
        if not self.accepting:
            return Admission(503, 1012, "restarting", "the server is restarting; reconnect shortly")
        if self.reserved >= self.settings.websocket_max_connections:
            return Admission(503, 1013, "too_many_connections", "the server is at its connection limit")
        if self.per_ip[ip] >= self.settings.websocket_max_connections_per_ip:
            return Admission(
                503,
                1013,
                "too_many_connections_from_ip",
                f"at most {self.settings.websocket_max_connections_per_ip} connections per client address",
            )
        self.per_ip[ip] += 1
        self.reserved += 1
        return None

    def release(self, ip: str) -> None:
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]
        self.reserved -= 1

    async def refuse(self, websocket: WebSocket, why: Admission, ip: str, origin: str | None) -> None:
        self.refused[why.code] += 1
        log.warning(
            "websocket refused: %s (ip=%s origin=%s status=%s connections=%d)",
            why.code,
            ip,
            origin,
            why.status,
            self.count,
        )
        if why.close_code == 1008:
            # Policy refusals (origin, key): a close before accept is answered with HTTP 403.
            await websocket.close(code=1008)
        elif "websocket.http.response" in websocket.scope.get("extensions", {}):
            body = JSONResponse({"error": why.code, "message": why.message}, status_code=why.status)
            body.headers["Retry-After"] = "5"
            await websocket.send_denial_response(body)
        else:  # no denial response possible: accept and close with "try again later"
            await websocket.accept()
            await websocket.close(code=why.close_code, reason=why.code)

    # ------------------------------------------------------------------ serving one connection

    async def serve(
        self,
        websocket: WebSocket,
        *,
        authenticate: Callable[[str | None], Any],
        ack_data: Callable[[Client], Mapping[str, Any]],
    ) -> None:
        """`authenticate(token)` returns None (refused), a name, or a principal with `.name` and
        `.key_id` (its sockets are closed with 1008 once the key is revoked)."""
        ip = websocket.client.host if websocket.client else "unknown"
        origin = websocket.headers.get("origin")
        why = self.check_origin(origin, websocket.headers.get("host"))
        token, wants_subprotocol = _presented_token(websocket)
        principal = None
        if why is None:
            principal = authenticate(token)
            if principal is None:
                code = "invalid_api_key" if token else "missing_api_key"
                why = Admission(
                    401, 1008, code, "a valid API key is required (?token= or Sec-WebSocket-Protocol)"
                )
        if why is None:
            why = self.reserve(ip)
        if why is not None or principal is None:
            await self.refuse(
                websocket, why or Admission(401, 1008, "unauthorized", "unauthorized"), ip, origin
            )
            return
        client = Client(
            id=uuid.uuid4().hex[:16],
            websocket=websocket,
            ip=ip,
            origin=origin,
            principal=str(getattr(principal, "name", principal)),
            key_id=getattr(principal, "key_id", None),
            queue=asyncio.Queue(maxsize=max(1, self.settings.websocket_send_queue_size)),
            tokens=float(max(1, self.settings.websocket_rate_limit_burst)),
            refilled_at=asyncio.get_running_loop().time(),
        )
        try:
            await websocket.accept(subprotocol=SUBPROTOCOL if wants_subprotocol else None)
            self.clients[client.id] = client
            self.total_connections += 1
            self._gauge()
            log.info(
                "websocket connected id=%s ip=%s origin=%s key=%s connections=%d",
                client.id,
                ip,
                origin,
                principal,
                self.count,
            )
            client.writer = asyncio.create_task(self._writer(client), name=f"ws-writer-{client.id}")
            self.send_personal(client, "connection_ack", ack_data(client))
            await self._reader(client)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            client.closed = True
            self.clients.pop(client.id, None)
            self.release(ip)
            self._gauge()
            writer = client.writer
            if writer is not None and not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait(CLOSE)  # wakes it even if a cancellation got lost
                await asyncio.wait({writer}, timeout=2.0)
            log.info(
                "websocket disconnected id=%s ip=%s origin=%s reason=%s connections=%d",
                client.id,
                ip,
                origin,
                client.close_reason or "client",
                self.count,
            )

    async def _reader(self, client: Client) -> None:
        ws = client.websocket
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not self._within_rate(client):
                await self._policy_close(client, "rate_limited")
                return
            raw = message.get("text")
            if raw is None and message.get("bytes") is not None:
                raw = message["bytes"].decode("utf-8", "replace")
            self.handle_client_message(client, raw or "")

    def _within_rate(self, client: Client) -> bool:
        """Token bucket per connection: `websocket_rate_limit_per_s`, bursts up to `_burst`."""
        rate = self.settings.websocket_rate_limit_per_s
        if rate <= 0:
            return True
        now = asyncio.get_running_loop().time()
        burst = float(max(1, self.settings.websocket_rate_limit_burst))
        client.tokens = min(burst, client.tokens + (now - client.refilled_at) * rate)
        client.refilled_at = now
        if client.tokens < 1.0:
            return False
        client.tokens -= 1.0
        return True

    async def _policy_close(self, client: Client, reason: str) -> None:
        """Close with 1008 now (rate limit, revoked key); the writer stops at its next message."""
        if client.closed or client.dropped:
            return
        client.closed = True
        client.close_code, client.close_reason = 1008, reason
        self._count_drop(reason)
        log.warning("websocket closed id=%s ip=%s key=%s: %s", client.id, client.ip, client.principal, reason)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.settings.websocket_send_timeout_s):
                await client.websocket.close(code=1008, reason=reason)

    async def close_keys(self, key_ids: set[int], reason: str = "api_key_revoked") -> int:
        found = [c for c in list(self.clients.values()) if c.key_id is not None and c.key_id in key_ids]
        for client in found:
            await self._policy_close(client, reason)
        return len(found)

    async def _watch_revocations(self, interval_s: float = 0.25) -> None:
        """Every instance closes the sockets of keys revoked anywhere (API, CLI, another instance)."""
        while True:
            await asyncio.sleep(interval_s)
            check = self.revoked_check
            ids = {c.key_id for c in self.clients.values() if c.key_id is not None}
            if check is None or not ids:
                continue
            try:
                revoked = await asyncio.to_thread(check, ids)
            except Exception as exc:  # the store may be down: keep watching
                log.debug("revocation check failed: %s", exc)
                continue
            if revoked:
                await self.close_keys(revoked)

    def handle_client_message(self, client: Client, raw: str) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            self._reply_error(client, "malformed_message", "messages must be JSON objects")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            self._reply_error(client, "malformed_message", 'messages need a string "type"')
            return
        kind = msg["type"]
        if kind == "ping":
            self.send_personal(client, "pong", {"echo": msg.get("data")} if "data" in msg else {})
        elif kind == "subscribe":
            types = msg.get("types")
            projects = msg.get("projects")
            if types is not None and (
                not isinstance(types, list)
                or not all(isinstance(t, str) and t in SUBSCRIBABLE_TYPES for t in types)
            ):
                self._reply_error(
                    client, "invalid_subscription", f"types must be a list of {sorted(SUBSCRIBABLE_TYPES)}"
                )
                return
            if projects is not None and (
                not isinstance(projects, list) or not all(isinstance(p, str | int) for p in projects)
            ):
                self._reply_error(client, "invalid_subscription", "projects must be a list of ids or names")
                return
            client.types = None if types is None else frozenset(types)
            client.projects = None if projects is None else frozenset(str(p) for p in projects)
        else:
            self._reply_error(client, "unknown_message_type", f"unknown message type {kind!r}")

    def _reply_error(self, client: Client, error_type: str, message: str) -> None:
        self.send_personal(
            client,
            "error",
            {
                "error_type": error_type,
                "severity": "warning",
                "endpoint": client.websocket.scope.get("path"),
                "request_id": client.id,
                "message": message[:300],
            },
        )

    async def _writer(self, client: Client) -> None:
        """Send the client's queue in order. No timer per send: the watchdog drops a client whose
        current send has been blocked for longer than `WEBSOCKET_SEND_TIMEOUT_S`."""
        ws = client.websocket
        loop = asyncio.get_running_loop()
        while not client.closed:
            item = await client.queue.get()
            while True:  # drain what is already queued without sleeping in between
                if client.closed:
                    return
                if item is CLOSE:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(self.settings.websocket_send_timeout_s):
                            await ws.close(code=client.close_code, reason=client.close_reason)
                    return
                client.sending_since = loop.time()
                try:
                    await ws.send_text(item)
                except Exception:  # disconnected meanwhile: the reader will see it
                    return
                finally:
                    client.sending_since = None
                client.sent += 1
                try:
                    item = client.queue.get_nowait()
                except asyncio.QueueEmpty:
                    break

    def start(self) -> None:
        self._watchdog = asyncio.create_task(self._watch(), name="ws-send-watchdog")
        self._fanout_task = asyncio.create_task(self._fanout(), name="ws-fanout")
        self._revocation_task = asyncio.create_task(self._watch_revocations(), name="ws-revocations")

    async def stop(self) -> None:
        if self._revocation_task is not None:
            self._revocation_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._revocation_task
            self._revocation_task = None
        if self._fanout_task is not None:
            self._fanout_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fanout_task
            self._fanout_task = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    async def _watch(self) -> None:
        timeout = self.settings.websocket_send_timeout_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.05, min(0.5, timeout / 4)))
            now = loop.time()
            for client in list(self.clients.values()):
                since = client.sending_since
                if since is not None and now - since > timeout:
                    self.drop(client, "send_timeout")

    # ------------------------------------------------------------------ sending

    def send_personal(self, client: Client, type_: str, data: Mapping[str, Any]) -> bool:
        """Validate and queue a message for one client only (ack, pong, error replies)."""
        try:
            event = build_message(type_, data)
        except InvalidEvent as exc:
            log.warning("dropping invalid personal message: %s", exc)
            self._count_drop("invalid")
            return False
        return self._submit(client, event.text)

    def broadcast(self, event: Event) -> None:
        """Hub sink: hand `event` to the fan-out task (or, before start, queue it per client)."""
        if self._fanout_task is None:
            for client in list(self.clients.values()):
                if not client.dropped and client.wants(event):
                    self._offer(client, event.text)
            return
        self._fanout_pending.append((None, event))
        self._fanout_wakeup.set()

    def _submit(self, client: Client, item: Any) -> bool:
        """A personal message (or CLOSE) goes through the same ordered fan-out as broadcasts, so a
        reply never overtakes an event published before it."""
        if client.dropped:
            return False
        if self._fanout_task is None:
            return self._offer(client, item)
        self._fanout_pending.append((client, item))
        self._fanout_wakeup.set()
        return True

    async def _fanout(self) -> None:
        """One task per server: for each message, a client whose queue is idle and whose transport
        is below its low-water mark gets it inline (such a send completes without suspending, so
        nobody waits on anybody); every other client gets it on its own queue, where a stalled
        one can only hurt itself. Saves a task wake-up per client."""
        while True:
            await self._fanout_wakeup.wait()
            self._fanout_wakeup.clear()
            while self._fanout_pending:
                target, item = self._fanout_pending.popleft()
                if target is not None:
                    if not target.dropped:
                        await self._deliver(target, item)
                    continue
                event: Event = item
                for client in list(self.clients.values()):
                    if not client.dropped and client.wants(event):
                        await self._deliver(client, event.text)

    async def _deliver(self, client: Client, item: Any) -> None:
        if item is not CLOSE and client.sending_since is None and client.queue.empty() and _writable(client):
            client.sending_since = 0.0  # cannot suspend; if it ever did, the watchdog drops it
            try:
                await client.websocket.send_text(item)
                client.sent += 1
            except Exception:  # disconnected: its reader cleans up
                pass
            finally:
                client.sending_since = None
        else:
            self._offer(client, item)

    def _offer(self, client: Client, item: Any) -> bool:
        if client.dropped:
            return False
        try:
            client.queue.put_nowait(item)
            return True
        except asyncio.QueueFull:
            self.drop(client, "queue_full")
            return False

    def drop(self, client: Client, reason: str) -> None:
        """Disconnect a slow client at once: abort the transport, discard whatever is buffered."""
        if client.dropped:
            return
        client.dropped = True
        client.close_reason = reason
        self.dropped[reason] += 1
        self._count_drop(f"slow_client_{reason}")
        self.clients.pop(client.id, None)
        self._gauge()
        log.warning(
            "websocket dropped id=%s ip=%s reason=%s connections=%d", client.id, client.ip, reason, self.count
        )
        transport = client.websocket.scope.get(TRANSPORT_SCOPE_KEY)
        if transport is not None:
            abort_transport(transport)
        current = asyncio.current_task()
        if client.writer is not None and client.writer is not current:
            client.writer.cancel()

    async def close_all(
        self, reason: str, *, code: int = 1012, reconnect_after_s: float | None = 2.0, timeout: float = 3.0
    ) -> int:
        """Send every client a `disconnect_notice`, then close; abort whoever does not go in time."""
        self.accepting = False
        clients = list(self.clients.values())
        for client in clients:
            client.close_code = code
            client.close_reason = reason
            self.send_personal(
                client, "disconnect_notice", {"reason": reason, "reconnect_after_s": reconnect_after_s}
            )
            self._submit(client, CLOSE)
        writers = [c.writer for c in clients if c.writer is not None and not c.writer.done()]
        if writers:
            _done, pending = await asyncio.wait(writers, timeout=timeout)
            for client in clients:
                if client.writer in pending:
                    self.drop(client, "close_timeout")
        # Wait for the handlers to unregister.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.clients and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return len(clients)

    # ------------------------------------------------------------------ introspection

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.websocket_clients.set(self.count)

    def _count_drop(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.events_dropped.labels(reason).inc()

    def limits(self) -> dict[str, Any]:
        s = self.settings
        return {
            "max_connections": s.websocket_max_connections,
            "max_connections_per_ip": s.websocket_max_connections_per_ip,
            "send_queue_size": s.websocket_send_queue_size,
            "send_timeout_s": s.websocket_send_timeout_s,
            "rate_limit_per_s": s.websocket_rate_limit_per_s,
            "rate_limit_burst": s.websocket_rate_limit_burst,
            "stats_interval_s": s.stats_interval_s,
            "progress_rate_limit_per_s": s.progress_rate_limit_per_s,
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "connected": self.count,
            "connections_total": self.total_connections,
            "by_ip": dict(self.per_ip),
            "refused": dict(self.refused),
            "dropped_slow_clients": dict(self.dropped),
            "accepting": self.accepting,
            "at": utcnow().isoformat(),
        }


def _writable(client: Client) -> bool:
    """True when a send cannot suspend: the transport's buffer is at or below its low-water mark
    (so uvicorn's flow control is not paused)."""
    transport = client.websocket.scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None or transport.is_closing():
        return False
    try:
        low, _high = transport.get_write_buffer_limits()
        return bool(transport.get_write_buffer_size() <= low)
    except (AttributeError, NotImplementedError):
        return False


def abort_transport(transport: Any) -> None:
    """Reset the connection now: SO_LINGER 0 makes close() send RST and discard the kernel's send
    buffer (MBs for a stalled peer) instead of flushing it; abort() skips the asyncio buffer."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        transport.abort()


def _presented_token(websocket: WebSocket) -> tuple[str | None, bool]:
    """The API key from `?token=` or `Sec-WebSocket-Protocol: finlineage, bearer.<key>`."""
    query = parse_qs(websocket.scope.get("query_string", b"").decode("latin-1"))
    token = (query.get("token") or [None])[0]
    offered = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    for proto in offered:
        if proto.startswith(TOKEN_PROTOCOL_PREFIX) and not token:
            token = proto[len(TOKEN_PROTOCOL_PREFIX) :]
    return token, SUBPROTOCOL in offered


def is_connected(websocket: WebSocket) -> bool:
    return websocket.client_state == WebSocketState.CONNECTED
