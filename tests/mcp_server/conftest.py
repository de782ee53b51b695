"""A data dir holding the treasury test corpus (tests/chat/treasury) ingested by the real CLI, and
a real `finlineage serve` over a copy of it (auth on, a viewer key)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CORPUS = ROOT / "tests" / "chat" / "treasury"


def cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "finlineage"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLINEAGE_")}
    env.update(
        FINLINEAGE_DATA_DIR=str(data_dir),
        FINLINEAGE_LOG_DIR=str(data_dir / "logs"),
        FINLINEAGE_EMBEDDINGS_ENABLED="false",
    )
    return env


@pytest.fixture(scope="session")
def treasury_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("mcp-seed") / "data"
    data.mkdir()
    done = cli(
        "ingest", str(CORPUS), "--project", "treasury", "--create-project", "--quiet", env=base_env(data)
    )
    assert done.returncode in (0, 1), f"ingest failed:\n{done.stdout}\n{done.stderr}"
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    key: str


@pytest.fixture
def served(treasury_data: Path, tmp_path: Path) -> Iterator[Served]:
    data = tmp_path / "data"
    shutil.copytree(treasury_data, data)
    env = base_env(data)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env.update(FINLINEAGE_AUTH="on", FINLINEAGE_ALLOWED_ORIGINS=url)
    made = cli("keys", "create", "--name", "mcp-viewer", "--role", "viewer", env=env, timeout=60)
    found = re.search(r"\bflk_[A-Za-z0-9_\-]+", made.stdout)
    assert made.returncode == 0 and found, made.stdout + made.stderr
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "finlineage"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-4000:]
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.1)
        yield Served(url, found.group(0))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
