"""Real servers for the realtime tests: uvicorn on 127.0.0.1 free ports (in a thread, or as a
subprocess when a test needs separate processes), a real `redis-server`, real WebSocket clients.

Nothing here sleeps for luck: every wait polls a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection

from finlineage.api.app import create_app
from finlineage.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://127.0.0.1:8000"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


async def async_wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(interval)


async def recv_json(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), timeout)
    data: dict[str, Any] = json.loads(raw)
    return data


async def recv_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Receive until a message matches; returns it and everything received before it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: list[dict[str, Any]] = []
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(
                f"no matching message within {timeout}s; got types {[m['type'] for m in seen]}"
            )
        msg = await recv_json(ws, remaining)
        if predicate(msg):
            return msg, seen
        seen.append(msg)


async def routed(hub: Any, type_: str, count: int = 1) -> None:
    """Wait until the hub (on the server's loop) has routed `count` events of `type_` published from
    this thread; only then is their order against a later client message defined."""
    await async_wait_for(lambda: hub.counters()["delivered"].get(type_, 0) >= count, what=f"{type_} routed")


async def barrier(ws: ClientConnection, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Ping and collect everything the server queued before the pong (messages are ordered)."""
    await ws.send(json.dumps({"type": "ping"}))
    _pong, before = await recv_until(ws, lambda m: m["type"] == "pong", timeout)
    return before


# ---------------------------------------------------------------------------------------
# in-thread uvicorn server
# ---------------------------------------------------------------------------------------


class ThreadServer:
    def __init__(
        self, app: FastAPI, *, ws_ping_interval: float | None = 20.0, ws_ping_timeout: float | None = 20.0
    ):
        self.app = app
        self.port = free_port()
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
            timeout_graceful_shutdown=5,
            # as `finlineage serve` sets it: with uvicorn's 5 s a client event loop juggling 100
            # connections on a loaded machine could send on a connection being closed (ReadError)
            timeout_keep_alive=round(Settings.model_fields["http_keep_alive_s"].default),
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws/dashboard"

    @property
    def services(self) -> dict[str, Any]:
        services: dict[str, Any] = self.app.state.ctx.services
        return services

    def start(self) -> ThreadServer:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), 20, what="uvicorn start")
        assert self.server.started, "server failed to start"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def _make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "log_dir": tmp_path / "logs",
            "load_demo": False,
            "embeddings_enabled": False,
            "auth": "off",
            "allowed_origins": [ORIGIN],
            "websocket_allow_no_origin": False,
        }
        base.update(overrides)
        return Settings(**base)

    return _make


@pytest.fixture
def start_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., ThreadServer]]:
    servers: list[ThreadServer] = []

    def _start(
        *, ws_ping_interval: float | None = 20.0, ws_ping_timeout: float | None = 20.0, **overrides: Any
    ) -> ThreadServer:
        app = create_app(make_settings(**overrides))
        server = ThreadServer(app, ws_ping_interval=ws_ping_interval, ws_ping_timeout=ws_ping_timeout)
        servers.append(server)
        return server.start()

    yield _start
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------------------------
# subprocess servers
# ---------------------------------------------------------------------------------------


class ProcessServer:
    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._log_file, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws/dashboard"

    def health(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(self.http + "/health", timeout=2)
            return dict(r.json()) if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def wait_healthy(self, timeout: float = 30.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            return self.health()

        found: dict[str, Any] = wait_for(ready, timeout, interval=0.05, what="server /health")
        return found

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log_file.close()


def server_env(data_dir: Path, log_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLINEAGE_")}
    env.update(
        {
            "FINLINEAGE_DATA_DIR": str(data_dir),
            "FINLINEAGE_LOG_DIR": str(log_dir),
            "FINLINEAGE_LOAD_DEMO": "false",
            "FINLINEAGE_EMBEDDINGS_ENABLED": "false",
            "FINLINEAGE_AUTH": "off",
            "FINLINEAGE_ALLOWED_ORIGINS": ORIGIN,
            "FINLINEAGE_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ProcessServer]]:
    """Start `finlineage serve` (mode="serve") or a bare uvicorn worker (mode="uvicorn")."""
    servers: list[ProcessServer] = []

    def _spawn(
        *, mode: str = "serve", data_dir: Path | None = None, name: str = "server", **env_extra: str
    ) -> ProcessServer:
        port = free_port()
        data = data_dir or tmp_path / "data"
        env = server_env(data, tmp_path / f"logs-{name}", **env_extra)
        if mode == "serve":
            argv = [str(Path(sys.executable).with_name("finlineage")), "serve", "--port", str(port)]
        else:
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "finlineage.api.asgi:create_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
        server = ProcessServer(argv, env, port, tmp_path / f"{name}.log")
        servers.append(server)
        return server

    yield _spawn
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------------------------
# redis-server
# ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (make system-deps)")
    port = free_port()
    workdir = tmp_path / "redis"
    workdir.mkdir()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )

    def ping() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    try:
        wait_for(lambda: proc.poll() is not None or ping(), 10, what="redis-server")
        assert proc.poll() is None, "redis-server exited"
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
