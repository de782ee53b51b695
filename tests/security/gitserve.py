"""Real git servers on loopback for the git-source tests: `git daemon` serving bare repositories,
and a tarpit (accepts TCP connections, never answers)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def bare_repo(root: Path, name: str, files: dict[str, bytes], *, tag: str | None = None) -> Path:
    """A bare repository `root/name` whose main branch holds `files` (tagged `tag` if given)."""
    bare = root / name
    git("init", "--bare", "-q", "-b", "main", str(bare))
    work = root / f"{name}.work"
    git("init", "-q", "-b", "main", str(work))
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".", cwd=work)
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c", cwd=work)
    if tag:
        git("tag", tag, cwd=work)
    git("push", "-q", str(bare), "main", "--tags", cwd=work)
    return bare


def commit_more(bare: Path, files: dict[str, bytes]) -> None:
    work = bare.with_name(bare.name + ".work")
    for rel, data in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".", cwd=work)
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "more", cwd=work)
    git("push", "-q", str(bare), "main", "--tags", cwd=work)


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[int]:
    """`git daemon` on 127.0.0.1 exporting every repository under `base`; yields its port."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("git daemon did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


class Tarpit:
    """A TCP server on 127.0.0.1 that accepts and never answers (a hanging git host)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self._conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        for conn in self._conns:
            conn.close()
        self.sock.close()
