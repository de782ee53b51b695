"""The security campaign's servers: real `finlineage serve` subprocesses on 127.0.0.1 (clean
environment: the server's own defaults unless a test sets a variable), real git servers and
Redis. Everything sent goes to loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtime.conftest import ProcessServer, free_port, redis_url, server_env, wait_for  # noqa: F401

FINLINEAGE = str(Path(sys.executable).with_name("finlineage"))


def cli(env: dict[str, str], *args: str) -> str:
    import subprocess

    done = subprocess.run([FINLINEAGE, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Served(ProcessServer):
    env: dict[str, str]

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.http + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.http + path, timeout=60, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.delete(self.http + path, timeout=30, **kw)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """`serve(name=..., data_dir=..., **FINLINEAGE_*)` starts `finlineage serve` and waits for /health."""
    servers: list[Served] = []

    def _serve(
        *, name: str = "server", data_dir: Path | None = None, wait: bool = True, **env_extra: str
    ) -> Served:
        port = free_port()
        env = server_env(data_dir or tmp_path / "data", tmp_path / f"logs-{name}", **env_extra)
        argv = [FINLINEAGE, "serve", "--port", str(port)]
        server = Served(argv, env, port, tmp_path / f"{name}.log")
        server.env = env
        servers.append(server)
        if wait:
            server.wait_healthy(60)
        return server

    yield _serve
    for server in servers:
        server.stop()


def children_of(pid: int) -> list[int]:
    """Every live descendant of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents[int(entry.name)] = ppid
    out: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == current]
        out.extend(kids)
        frontier.extend(kids)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


__all__ = ["Served", "alive", "children_of", "cli", "cmdline", "wait_for"]
