"""OpenLineage ingest benchmark: RunEvents POSTed to a real server (`/api/v1/lineage`, one event per
request, as the OpenLineage HTTP transport sends them) on a fresh SQLite store.

    .venv/bin/python bench/bench_openlineage.py                         # 10,000 events, 1,000 jobs
    .venv/bin/python bench/bench_openlineage.py --events 500 --jobs 50  # a quick run
    git archive <commit> src | tar -x -C /tmp/ol-base                   # a baseline checkout, then
    .venv/bin/python bench/bench_openlineage.py --repeat 3 --baseline-src /tmp/ol-base/src
        # baseline and current code in turn, 3 runs each: medians and their ratio (same machine,
        # same load window; the figure to compare on a shared machine)

Each job runs `events / jobs / 2` times (START + COMPLETE per run); every event reads two datasets
and writes one, with a columnLineage facet of 6 output fields (2 inputs each, typed
transformations), and half the jobs write datasets that a parsed SQL repository owns (so
stitching onto parsed objects is on the measured path). `--clients` HTTP clients post
concurrently (keep-alive, loopback only), bounded by `--max-seconds` (a client stops posting at
the deadline; the run then fails). `client_cpu_ms_per_event` is this process's CPU (the clients),
reported apart from the server's. Target: >= 500 events/s. On a machine of 2+ CPUs the server runs
on the first CPU and the clients on the others unless `--server-cpus`/`--client-cpus` say otherwise
(`any`: no pinning): sharing cores, the clients take CPU from the server and its threads hand the
GIL across cores (both figures are in docs/BENCHMARKS.md). The server is `finlineage serve --workers N` (default 1) in a child process; `server_cpu_ms_per_event`
is the CPU time of the server's process tree per event, the figure to compare across machines of
different load. Writes bench/results/openlineage.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_EPS = 500.0
PRODUCER = "https://example.invalid/finlineage-bench"
FIELDS = 6


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        total += used.get(p, 0.0)
        stack.extend(children.get(p, ()))
    return total


def _self_cpu() -> float:
    """CPU seconds (user + system) of this process: the benchmark's clients."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _event(job: int, run_id: str, state: str, t: int) -> dict[str, Any]:
    ns_out = "mssql://bench-db" if job % 2 == 0 else "postgres://lake"
    out_name = f"stage.t{job % 200}" if job % 2 == 0 else f"lake.out{job}"
    ins = [("s3://landing", f"feed/{job % 97}"), ("s3://landing", f"ref/{job % 13}")]
    fields = {
        f"c{i}": {
            "inputFields": [
                {
                    "namespace": ns,
                    "name": name,
                    "field": f"f{i}",
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION" if i else "IDENTITY"}],
                }
                for ns, name in ins
            ]
        }
        for i in range(FIELDS)
    }
    return {
        "eventType": state,
        "eventTime": datetime.fromtimestamp(1_790_000_000 + t, UTC).isoformat().replace("+00:00", "Z"),
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": "bench-spark", "name": f"job_{job:04d}", "facets": {}},
        "inputs": [{"namespace": ns, "name": name, "facets": {}} for ns, name in ins],
        "outputs": [
            {
                "namespace": ns_out,
                "name": out_name,
                "facets": {
                    "columnLineage": {
                        "_producer": PRODUCER,
                        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
                        "fields": fields,
                    }
                },
            }
        ],
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def _events(n_events: int, n_jobs: int) -> list[bytes]:
    runs_per_job = max(1, n_events // n_jobs // 2)
    out: list[bytes] = []
    t = 0
    for r in range(runs_per_job):
        for j in range(n_jobs):
            run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{j}/{r}"))
            for state in ("START", "COMPLETE"):
                out.append(json.dumps(_event(j, run_id, state, t)).encode())
                t += 1
    return out[:n_events]


def _cpus(spec: str | None) -> set[int] | None:
    """``"0"`` / ``"0,1"`` → a CPU set (None or ``any``: no pinning)."""
    if not spec or spec == "any":
        return None
    return {int(c) for c in spec.split(",") if c.strip()}


def _default_cpus(args: argparse.Namespace) -> None:
    """Unless told otherwise, on a machine of 2+ CPUs the server gets the first CPU it may use
    and the clients the others: the load generator must not take the measured server's CPU."""
    usable = sorted(os.sched_getaffinity(0))
    if args.server_cpus is None and args.client_cpus is None and len(usable) >= 2:
        args.server_cpus = str(usable[0])
        args.client_cpus = ",".join(map(str, usable[1:]))


def _serve(
    tmp: Path, workers: int, src: Path | None = None, cpus: set[int] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`finlineage serve` on a fresh SQLite store (a child process, so the clients' CPU is not
    the server's); ``src``: another checkout's ``src`` directory to serve instead (a baseline);
    ``cpus``: the CPUs the server (and its children) may run on."""
    port = _free_port()
    env = {
        **os.environ,
        "FINLINEAGE_DATA_DIR": str(tmp / "data"),
        "FINLINEAGE_LOG_DIR": str(tmp / "logs"),
        "FINLINEAGE_LOAD_DEMO": "false",
        "FINLINEAGE_EMBEDDINGS_ENABLED": "false",
        "FINLINEAGE_INGEST_ROOTS": str(tmp),
        "FINLINEAGE_LOG_LEVEL": "warning",
    }
    env.pop("FINLINEAGE_DATABASE_URL", None)
    env.pop("PYTHONPATH", None)
    if src is not None:
        env["PYTHONPATH"] = str(src.resolve())
    cmd = [
        str(BIN / "finlineage"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with open(tmp / "serve.log", "wb") as log:
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pin)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / 'serve.log').read_text()[-2000:]}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not become healthy")


def run_once(args: argparse.Namespace, src: Path | None = None) -> dict[str, Any]:
    """One measured run on a fresh store: the current code, or the checkout at ``src``."""
    tmp = Path(tempfile.mkdtemp(prefix="finlineage-bench-ol-"))
    proc, base = _serve(tmp, args.workers, src, _cpus(args.server_cpus))
    try:
        # a parsed repository owning the mssql://bench-db datasets (stitching target)
        sql_dir = tmp / "sql"
        sql_dir.mkdir()
        cols = ", ".join(f"c{i} INT" for i in range(FIELDS))
        (sql_dir / "stage.sql").write_text(
            "".join(f"CREATE TABLE stage.t{i} ({cols});\nGO\n" for i in range(200)), encoding="utf-8"
        )
        with httpx.Client(base_url=base, timeout=120) as http:
            r = http.post(
                "/api/v1/ingest?wait=true",
                json={
                    "path": str(sql_dir),
                    "project_id": "bench",
                    "repository_name": "bench-db",
                    "dialect": "tsql",
                    "create_project": True,
                },
            )
            r.raise_for_status()
        bodies = _events(args.events, args.jobs)
        errors: list[str] = []
        lock = threading.Lock()

        deadline = time.monotonic() + args.max_seconds

        def worker(part: list[bytes]) -> int:
            ok = 0
            with httpx.Client(
                base_url=base, timeout=120, headers={"Content-Type": "application/json"}
            ) as http:
                for body in part:
                    if time.monotonic() > deadline:
                        with lock:
                            errors.append(f"deadline: --max-seconds {args.max_seconds:g} passed")
                        break
                    resp = http.post("/api/v1/lineage", content=body)
                    if resp.status_code == 201:
                        ok += 1
                    else:
                        with lock:
                            errors.append(f"{resp.status_code} {resp.text[:200]}")
            return ok

        parts = [bodies[i :: args.clients] for i in range(args.clients)]
        started, cpu0, client0 = time.perf_counter(), _cpu(proc.pid), _self_cpu()
        load_before = os.getloadavg()[0]
        with ThreadPoolExecutor(args.clients) as pool:
            accepted = sum(pool.map(worker, parts))
        elapsed, cpu = time.perf_counter() - started, _cpu(proc.pid) - cpu0
        client_cpu = _self_cpu() - client0
        with httpx.Client(base_url=base, timeout=120) as http:
            jobs = http.get("/api/v1/jobs?limit=1").json()["totalCount"]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    eps = accepted / elapsed if elapsed else 0.0
    return {
        "code": "current" if src is None else f"baseline ({src})",
        "events": len(bodies),
        "accepted": accepted,
        "errors": len(errors),
        "first_errors": errors[:5],
        "jobs_listed": jobs,
        "seconds": round(elapsed, 3),
        "events_per_s": round(eps, 1),
        "server_cpu_ms_per_event": round(1000 * cpu / max(1, accepted), 2),
        "client_cpu_ms_per_event": round(1000 * client_cpu / max(1, accepted), 2),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "at": datetime.now(UTC).isoformat(),
    }


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median events/s (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda r: r["events_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=1_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each code (the median is reported)")
    ap.add_argument(
        "--baseline-src",
        type=Path,
        help="the `src` directory of another checkout (e.g. `git archive <commit> src | tar -x -C DIR`): "
        "measured in turn with the current code, on the same machine in the same invocation",
    )
    ap.add_argument("--max-seconds", type=float, default=600.0, help="deadline for the posting phase")
    ap.add_argument(
        "--server-cpus",
        help="CPUs the server runs on, e.g. `0`, or `any` (default with 2+ CPUs: the first; the "
        "clients get the others, so the load generator does not take the server's CPU, as when "
        "producers run on other machines)",
    )
    ap.add_argument("--client-cpus", help="CPUs the posting clients run on, e.g. `1`, or `any`")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "openlineage.json")
    args = ap.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _default_cpus(args)
    client_cpus = _cpus(args.client_cpus)
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)

    runs: list[dict[str, Any]] = []
    baseline_runs: list[dict[str, Any]] = []
    for _ in range(max(1, args.repeat)):
        if args.baseline_src is not None:
            baseline_runs.append(run_once(args, args.baseline_src))
            print(json.dumps(baseline_runs[-1]), flush=True)
        runs.append(run_once(args, None))
        print(json.dumps(runs[-1]), flush=True)
    best = _median_run(runs)
    failed = any(r["errors"] or r["accepted"] != r["events"] for r in runs)
    result: dict[str, Any] = {
        "benchmark": "openlineage_ingest",
        "backend": "sqlite",
        **{k: v for k, v in best.items() if k != "code"},
        "clients": args.clients,
        "server_workers": args.workers,
        "server_cpus": args.server_cpus or "any",
        "client_cpus": args.client_cpus or "any",
        "repeat": len(runs),
        "median_of": [r["events_per_s"] for r in runs],
        "command": " ".join(["bench/bench_openlineage.py", *sys.argv[1:]]),
        "target_events_per_s": TARGET_EPS,
        "meets_target": best["events_per_s"] >= TARGET_EPS and not failed,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": runs,
    }
    if baseline_runs:
        base = _median_run(baseline_runs)
        result["baseline"] = {"src": str(args.baseline_src), "median": base, "runs": baseline_runs}
        result["ratio_events_per_s"] = round(best["events_per_s"] / max(0.1, base["events_per_s"]), 2)
        result["ratio_server_cpu_per_event"] = round(
            best["server_cpu_ms_per_event"] / max(0.01, base["server_cpu_ms_per_event"]), 2
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("runs", "baseline")}, indent=2))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
