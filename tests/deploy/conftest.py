"""The `make cluster` topology as a session fixture: `deploy/cluster.py` itself, in a subprocess.

PostgreSQL, redis-server, two `finlineage serve` instances, one `finlineage worker` and nginx, on
free loopback ports. Teardown sends SIGTERM to the supervisor (as Ctrl-C would) and then checks
that every PID it reported is gone — killing leftovers by PID so a failing test never leaks them.
Every wait polls a condition with a deadline; nothing sleeps for luck.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = ROOT / "deploy" / "cluster.py"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class ClusterHandle:
    proc: subprocess.Popen[bytes]
    state_file: Path
    log_file: Path

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        return data

    @property
    def nginx(self) -> str:
        return str(self.state()["nginx_url"])

    @property
    def apis(self) -> list[str]:
        return list(self.state()["api_urls"])

    def pids(self, role: str) -> list[int]:
        return [p["pid"] for p in self.state()["processes"] if p["role"] == role]

    def all_pids(self) -> list[int]:
        st = self.state()
        pids = [p["pid"] for p in st["processes"] if p["pid"]]
        if st.get("postgres_pid"):
            pids.append(st["postgres_pid"])
        return pids

    def log_tail(self, n: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-n:]


def start_cluster(base: Path, *extra: str, timeout: float = 240.0) -> ClusterHandle:
    base.mkdir(parents=True, exist_ok=True)
    state_file = base / "state.json"
    log_file = base / "cluster.log"
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(CLUSTER_SCRIPT),
                "--free-ports",
                "--base-dir",
                str(base / "cluster"),
                "--state-file",
                str(state_file),
                "--no-embeddings",
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
        )
    handle = ClusterHandle(proc, state_file, log_file)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"cluster.py exited ({proc.returncode}):\n{handle.log_tail()}")
        return state_file.exists() and handle.state()["status"] == "running"

    try:
        wait_for(ready, timeout, "the cluster to be ready")
    except BaseException:
        stop_cluster(handle)
        raise
    return handle


def stop_cluster(handle: ClusterHandle, timeout: float = 90.0) -> list[int]:
    """SIGTERM the supervisor (like Ctrl-C); returns the PIDs that had to be killed afterwards."""
    pids = handle.all_pids() if handle.state_file.exists() else []
    if handle.proc.poll() is None:
        handle.proc.send_signal(signal.SIGTERM)
        try:
            handle.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            handle.proc.kill()
            handle.proc.wait(10)
    if handle.state_file.exists():
        pids = sorted(set(pids) | set(handle.all_pids()))
    leaked = [pid for pid in pids if pid_alive(pid)]
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return leaked


def cluster_base() -> Path:
    """Outside pytest's tmp tree: PostgreSQL runs as an unprivileged user when we are root, and
    pytest (ours or a concurrent session) resets /tmp/pytest-of-<user> to 0700."""
    return Path(tempfile.mkdtemp(prefix="finlineage-cluster-"))


@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterHandle]:
    base = cluster_base()
    handle = start_cluster(base, "--workers", "1", "--lock-ttl", "4")
    try:
        yield handle
    finally:
        leaked = stop_cluster(handle)
        assert leaked == [], f"processes still running after the supervisor stopped: {leaked}"
        assert handle.state()["status"] == "stopped", handle.log_tail()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client
