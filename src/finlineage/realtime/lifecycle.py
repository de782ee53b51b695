"""Server lifecycle: status, draining, and the admin restart.

`Lifecycle.request_restart()` starts, in the background:

1. status `restarting`, `system_status_change` broadcast to every client (all workers);
2. stop taking new work: new HTTP requests get 503 (except /health and /metrics), new
   WebSockets are refused;
3. wait (up to `FINLINEAGE_RESTART_GRACE_S`) for in-flight HTTP requests, then ask the ingestion
   service to drain: `ctx.services["ingestion"].drain(timeout)` must let runs finish or mark the
   ones still going `interrupted` (resumable);
4. flush the activity log (file and database);
5. close every WebSocket with a `disconnect_notice`;
6. write the restart marker and send SIGTERM to the serving process (`FINLINEAGE_SERVE_PID`, set
   by `finlineage serve`, else this process). uvicorn then shuts down gracefully and
   `finlineage serve` either exits 0 (under a supervisor: systemd, a container's PID 1, or
   `FINLINEAGE_RESTART_MODE=exit`) or re-executes itself in place (`reexec`, the default for
   `finlineage serve` / `make run`), so restart works without Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from finlineage.realtime.events import utcnow
from finlineage.settings import Settings

log = logging.getLogger("finlineage.lifecycle")

SERVE_PID_ENV = "FINLINEAGE_SERVE_PID"
MARKER_NAME = "restart.requested"
DRAIN_EXEMPT = ("/health", "/metrics")
Status = Literal["healthy", "degraded", "restarting"]


def restart_marker(settings: Settings) -> Path:
    return settings.data_dir / MARKER_NAME


def consume_restart_marker(settings: Settings) -> dict[str, Any] | None:
    """Used by `finlineage serve` after uvicorn returns: was this shutdown a restart request?"""
    path = restart_marker(settings)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError:
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    try:
        found = json.loads(content)
        return found if isinstance(found, dict) else {}
    except ValueError:
        return {}


def clear_restart_marker(settings: Settings) -> None:
    with contextlib.suppress(OSError):
        restart_marker(settings).unlink()


def restart_action(settings: Settings, environ: dict[str, str] | None = None) -> Literal["exit", "reexec"]:
    """`exit` under a supervisor (systemd, a container entrypoint), else `reexec` in place."""
    mode = settings.restart_mode
    if mode in ("exit", "reexec"):
        return mode
    env = os.environ if environ is None else environ
    if env.get("INVOCATION_ID") or env.get("NOTIFY_SOCKET") or os.getpid() == 1:
        return "exit"
    return "reexec"


def install_restart_signal_guard(settings: Settings) -> None:
    """uvicorn re-raises the SIGTERM it handled once it has shut down; when that SIGTERM was a
    restart request, swallow it so `finlineage serve` can exit 0 or re-exec. Any other SIGTERM
    keeps its default meaning."""

    def _on_sigterm(signum: int, _frame: object) -> None:
        if restart_marker(settings).exists():
            return
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, _on_sigterm)


LISTEN_FD_ENV = "FINLINEAGE_LISTEN_FD"
_stop_accepting: Callable[[], object] | None = None


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's listening socket: inherited from the process this one re-executed from
    (`FINLINEAGE_LISTEN_FD`), else bound now. Kept open across restarts."""
    inherited = os.environ.pop(LISTEN_FD_ENV, None)
    if inherited and inherited.isdecimal():
        try:
            sock = socket.socket(fileno=int(inherited))
            sock.set_inheritable(False)
            return sock
        except OSError:
            log.warning("inherited listening socket %s unusable; binding anew", inherited)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    return sock


def set_stop_accepting(hook: Callable[[], object] | None) -> None:
    """`finlineage serve` (one process) registers how to stop accepting: during a restart new
    connections then wait in the kept socket's backlog instead of being answered 503."""
    global _stop_accepting
    _stop_accepting = hook


def wait_port_free(host: str, port: int, timeout: float) -> bool:
    """Before re-executing: wait until no (worker) process holds the listening port any more."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host.strip("[]"), port))
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
        time.sleep(0.05)


def reexec(keep_fd: int | None = None) -> None:
    """Replace this process with a fresh copy of the same command line (same pid, new everything);
    `keep_fd` (the listening socket) is handed over through `FINLINEAGE_LISTEN_FD`."""
    argv = [sys.executable, *sys.orig_argv[1:]]
    log.warning("re-executing: %s", " ".join(argv))
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    # uvicorn makes its listening socket inheritable for its workers: it must not survive the exec.
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else []:
        fd = int(name)
        if fd > 2 and fd != keep_fd:
            with contextlib.suppress(OSError):
                os.set_inheritable(fd, False)
    if keep_fd is not None:
        os.set_inheritable(keep_fd, True)
        os.environ[LISTEN_FD_ENV] = str(keep_fd)
    os.execv(sys.executable, argv)


class Lifecycle:
    def __init__(
        self,
        settings: Settings,
        *,
        broadcast_status: Callable[[str, str | None], None],
        flush_activity: Callable[[float], Awaitable[bool]],
        close_websockets: Callable[[str], Awaitable[int]],
        services: dict[str, Any],
        terminate: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.status: Status = "healthy"
        self.draining = False
        self.inflight = 0
        self._broadcast_status = broadcast_status
        self._flush_activity = flush_activity
        self._close_websockets = close_websockets
        self._services = services
        self._terminate = terminate or self._signal_server
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.restart_requested_at: str | None = None
        self.steps: list[str] = []

    # ------------------------------------------------------------------ in-flight accounting

    def request_started(self) -> None:
        self.inflight += 1
        self._idle.clear()

    def request_finished(self) -> None:
        self.inflight -= 1
        if self.inflight <= 0:
            self.inflight = 0
            self._idle.set()

    def set_status(self, status: Status, reason: str | None = None) -> None:
        if status != self.status:
            self.status = status
            self._broadcast_status(status, reason)

    # ------------------------------------------------------------------ restart

    def request_restart(self, requested_by: str) -> bool:
        """Start the restart in the background; False if one is already under way."""
        if self._task is not None:
            return False
        self.restart_requested_at = utcnow().isoformat()
        self._task = asyncio.create_task(self._restart(requested_by), name="admin-restart")
        return True

    async def _restart(self, requested_by: str) -> None:
        grace = max(0.0, self.settings.restart_grace_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        log.warning("restart requested by %s (grace %.1fs)", requested_by, grace)
        try:
            self.set_status("restarting", f"restart requested by {requested_by}")
            if _stop_accepting is not None:
                # The listening socket survives the re-exec: stop accepting and let new
                # connections wait in its backlog; requests already here are served normally.
                with contextlib.suppress(Exception):
                    _stop_accepting()
                self._step("accepting_stopped")
            else:
                self.draining = True  # no socket handoff (several workers): new requests get 503
            self._step("draining")
            # Let the restart request's own response (and anything else in flight) finish.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout=max(0.1, deadline - loop.time()))
            self._step(f"http_idle inflight={self.inflight}")
            ingestion = self._services.get("ingestion")
            drain = getattr(ingestion, "drain", None)
            if drain is not None:
                with contextlib.suppress(Exception):
                    result = drain(max(0.1, deadline - loop.time()))
                    if asyncio.iscoroutine(result):
                        await result
                self._step("ingestion_drained")
            flushed = await self._flush_activity(5.0)
            self._step(f"activity_flushed={flushed}")
            closed = await self._close_websockets("server restarting")
            self._step(f"websockets_closed={closed}")
            # Anything recorded while closing (the disconnects) goes out too.
            await self._flush_activity(2.0)
        except Exception:
            log.exception("restart preparation failed; restarting anyway")
        self._write_marker(requested_by)
        self._step("terminate")
        self._terminate()

    def _step(self, name: str) -> None:
        self.steps.append(name)
        log.info("restart: %s", name)

    def _write_marker(self, requested_by: str) -> None:
        payload = {
            "requested_by": requested_by,
            "requested_at": self.restart_requested_at,
            "pid": os.getpid(),
        }
        with contextlib.suppress(OSError):
            restart_marker(self.settings).write_text(json.dumps(payload), encoding="utf-8")

    @staticmethod
    def _signal_server() -> None:
        target = int(os.environ.get(SERVE_PID_ENV) or os.getpid())
        try:
            os.kill(target, signal.SIGTERM)
        except ProcessLookupError:
            os.kill(os.getpid(), signal.SIGTERM)

    def health(self) -> dict[str, Any]:
        return {"status": self.status, "draining": self.draining, "inflight": self.inflight}


class RealtimeMiddleware:
    """Pure ASGI: counts in-flight HTTP requests, refuses new work while draining, and hands the
    WebSocket endpoint its transport (`scope["finlineage.transport"]`) so a stalled peer can be
    aborted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            owner = getattr(send, "__self__", None)
            transport = getattr(owner, "transport", None)
            if transport is not None and hasattr(transport, "abort"):
                scope["finlineage.transport"] = transport
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lifecycle = _lifecycle_of(scope)
        if lifecycle is None:
            await self.app(scope, receive, send)
            return
        if lifecycle.draining and not str(scope.get("path", "")).startswith(DRAIN_EXEMPT):
            await _unavailable(send)
            return
        lifecycle.request_started()
        try:
            await self.app(scope, receive, send)
        finally:
            lifecycle.request_finished()


def _lifecycle_of(scope: Scope) -> Lifecycle | None:
    app = scope.get("app")
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    services = getattr(ctx, "services", None)
    found = services.get("lifecycle") if isinstance(services, dict) else None
    return found if isinstance(found, Lifecycle) else None


async def _unavailable(send: Send) -> None:
    body = json.dumps(
        {
            "error": "restarting",
            "message": "the server is restarting; retry shortly",
            "request_id": "",
            "details": None,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", b"5"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
