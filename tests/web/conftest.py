"""Real servers and a real browser for the dashboard tests.

* `demo_seed`: the demo corpus ingested once per session by the CLI
  (`finlineage ingest demo --project demo --repository demo-warehouse`) into a data dir that
  each server copies, so no test sees another's writes.
* `serve(...)`: `finlineage serve` as a subprocess on a free 127.0.0.1 port (auth on or off),
  waited for on /health, stopped at the end.
* `browser`: Debian's Chromium, headless, driven by Playwright (sync API), one fresh context
  (user data) per test.

Every wait polls a condition with a deadline; nothing sleeps for luck.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("FINLINEAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.05)


def _cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = BIN / "finlineage"
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "finlineage.cli.main", *args]
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLINEAGE_")}
    env.update(
        FINLINEAGE_DATA_DIR=str(data_dir),
        FINLINEAGE_LOG_DIR=str(data_dir / "logs"),
        FINLINEAGE_EMBEDDINGS_ENABLED="false",
    )
    env.pop("INVOCATION_ID", None)
    env.pop("NOTIFY_SOCKET", None)
    return env


@pytest.fixture(scope="session")
def demo_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir holding the ingested demo warehouse (project `demo`)."""
    data = tmp_path_factory.mktemp("web-seed") / "data"
    data.mkdir()
    done = _cli(
        "ingest",
        "demo",
        "--project",
        "demo",
        "--repository",
        "demo-warehouse",
        "--create-project",
        "--quiet",
        env=base_env(data),
    )
    assert done.returncode == 0, f"demo ingest failed:\n{done.stdout}\n{done.stderr}"
    return data


@dataclass
class Server:
    url: str
    port: int
    data_dir: Path
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    keys: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "finlineage"), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60.0) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited ({self.proc.returncode}):\n{self.log.read_text()[-4000:]}"
                )
            try:
                r = httpx.get(f"{self.url}/health", timeout=2)
            except httpx.HTTPError:
                return None
            body = r.json() if r.status_code == 200 else None
            return body if body and body.get("status") != "restarting" else None

        return wait_until(ready, timeout, f"{self.url}/health")  # type: ignore[no-any-return]

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def api(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


class _Servers:
    """Starts servers over copies of the seeded data dir; stops them all at the end."""

    def __init__(self, seed: Path, workdir: Path) -> None:
        self.seed = seed
        self.workdir = workdir
        self.started: list[Server] = []

    def __call__(
        self, *, auth: bool = False, keys: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> Server:
        env_overrides = dict(env or {})
        tmp_path = self.workdir
        started = self.started
        demo_seed = self.seed
        data = tmp_path / f"data{len(started)}"
        shutil.copytree(demo_seed, data)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = base_env(data)
        env.update(
            FINLINEAGE_AUTH="on" if auth else "off",
            FINLINEAGE_ALLOWED_ORIGINS=url,
            FINLINEAGE_STATS_INTERVAL_S="0.5",
            FINLINEAGE_RESTART_GRACE_S="2",
            FINLINEAGE_RESTART_MODE="reexec",
            FINLINEAGE_PARSE_WORKERS="2",
        )
        env.update(env_overrides)
        server = Server(
            url=url, port=port, data_dir=data, env=env, log=tmp_path / f"server{len(started)}.log"
        )
        for role in keys:
            made = _cli("keys", "create", "--name", f"web-{role}", "--role", role, env=env, timeout=60)
            found = re.search(r"\bflk_[A-Za-z0-9_\-]+", made.stdout)
            assert made.returncode == 0 and found, f"key creation failed:\n{made.stdout}\n{made.stderr}"
            server.keys[role] = found.group(0)
        started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def serve(demo_seed: Path, tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Factory: `serve(auth=False, keys=("admin",))` → a running server over a copy of the demo,
    for tests that change the server (uploads, restarts, auth)."""
    servers = _Servers(demo_seed, tmp_path)
    yield servers
    servers.stop_all()


@pytest.fixture(scope="session")
def shared_server(demo_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the tests that only read (explore, ask, layout)."""
    servers = _Servers(demo_seed, tmp_path_factory.mktemp("web-shared"))
    yield servers()
    servers.stop_all()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no shared storage) and page; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 390 × 844 touch screen (an iPhone-sized viewport); page errors fail the test."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    context.set_default_timeout(30_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_dashboard(page: Any, server: Server, hash_: str = "") -> None:
    page.goto(f"{server.url}/{hash_}")
    page.wait_for_function("document.body.dataset.ready === 'true'")
