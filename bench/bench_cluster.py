"""Cluster benchmark: ingestion throughput with 1 vs 2 workers, API read latency through nginx vs direct.

    .venv/bin/python bench/bench_cluster.py [--objects 10000] [--shards 8]   # writes bench/results/cluster.json

Each measurement runs against the real `make cluster` topology (`deploy/cluster.py`: embedded
PostgreSQL 18, redis-server, two `finlineage serve`, N `finlineage worker`, nginx) on free loopback
ports, started fresh for each worker count.

* **throughput** — the generated corpus (`finlineage demo generate --objects 10000`, 355 files) is
  split round-robin into `--shards` uploads (one project each, so runs can proceed in parallel; a
  single run executes on one worker). Every worker has one parse process
  (`FINLINEAGE_PARSE_WORKERS=1`), so 1 worker uses one core for parsing and 2 workers two. Time =
  first run started → last run finished (from the `runs` table), i.e. parse + store writes.
* **read latency** — 100 (and 25) concurrent asyncio clients (httpx, keep-alive, 10 s timeout)
  each send up to `--requests` `GET /api/v1/lineage/nodes?project_id=…&limit=20` (60 s budget per
  phase) through nginx (both instances) and directly to instance A; p50/p95/p99 over the
  successful requests after a warm-up, errors counted by kind. Client, nginx, both instances,
  PostgreSQL and Redis share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "cluster.json"
sys.path.insert(0, str(ROOT / "src"))


def log(msg: str) -> None:
    print(f"[bench_cluster {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Cluster:
    def __init__(self, workers: int, parse_workers: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="finlineage-bench-cluster-"))
        self.state_file = self.base / "state.json"
        self.out = open(self.base / "cluster.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "deploy" / "cluster.py"),
                "--free-ports",
                "--base-dir",
                str(self.base / "cluster"),
                "--state-file",
                str(self.state_file),
                "--workers",
                str(workers),
                "--parse-workers",
                str(parse_workers),
                "--no-embeddings",
                "--ws-per-ip",
                "200",
                "--env",
                "FINLINEAGE_LOG_LEVEL=warning",
            ],
            stdout=self.out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
        )
        deadline = time.monotonic() + 240
        while not (self.state_file.exists() and self.state()["status"] == "running"):
            if self.proc.poll() is not None:
                raise RuntimeError((self.base / "cluster.log").read_text()[-3000:])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("cluster did not start")
            time.sleep(0.2)

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state_file.read_text())
        return data

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()
        shutil.rmtree(self.base, ignore_errors=True)


def shard_corpus(corpus: Path, shards: int) -> list[list[tuple[str, bytes]]]:
    sql = sorted(p for p in corpus.rglob("*.sql"))
    configs = [(p.relative_to(corpus).as_posix(), p.read_bytes()) for p in corpus.rglob("finlineage.toml")]
    out: list[list[tuple[str, bytes]]] = [list(configs) for _ in range(shards)]
    for i, p in enumerate(sql):
        out[i % shards].append((p.relative_to(corpus).as_posix(), p.read_bytes()))
    return out


def throughput(workers: int, shards: list[list[tuple[str, bytes]]], objects: int) -> dict[str, Any]:
    log(f"throughput: starting a cluster with {workers} worker(s), 1 parse process each")
    cluster = Cluster(workers, parse_workers=1)
    load_before = os.getloadavg()
    try:
        nginx = cluster.state()["nginx_url"]
        with httpx.Client(timeout=300) as http:
            ids: list[str] = []
            for n, files in enumerate(shards):
                resp = http.post(
                    f"{nginx}/api/v1/files/upload",
                    data={
                        "project_id": f"shard-{n}",
                        "repository_name": "warehouse",
                        "create_project": "true",
                    },
                    files=[("files", (name, data, "application/octet-stream")) for name, data in files],
                )
                resp.raise_for_status()
                ids.append(resp.json()["ingestion_id"])
            log(f"  {len(ids)} runs queued; waiting")
            final: dict[str, dict[str, Any]] = {}
            deadline = time.monotonic() + 3600
            while len(final) < len(ids):
                for iid in ids:
                    if iid in final:
                        continue
                    st = http.get(f"{nginx}/api/v1/ingestion/{iid}").json()
                    if st["status"] in ("completed", "failed", "cancelled", "interrupted"):
                        final[iid] = st
                if time.monotonic() > deadline:
                    raise RuntimeError("runs did not finish within an hour")
                time.sleep(1.0)
        started = min(datetime.fromisoformat(s["started_at"]) for s in final.values())
        finished = max(datetime.fromisoformat(s["finished_at"]) for s in final.values())
        wall = (finished - started).total_seconds()
        files = sum(s["files_processed"] for s in final.values())
        result = {
            "workers": workers,
            "parse_processes_per_worker": 1,
            "runs": len(final),
            "statuses": sorted({s["status"] for s in final.values()}),
            "files_processed": files,
            "files_failed": sum(s["files_failed"] for s in final.values()),
            "edges_created": sum(s["total_edges_created"] for s in final.values()),
            "wall_s": round(wall, 2),
            "files_per_s": round(files / wall, 2),
            "objects_per_s": round(objects / wall, 1),
            "per_run_s": sorted(round((s["duration_ms"] or 0) / 1000, 2) for s in final.values()),
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        }
        log(f"  {workers} worker(s): {wall:.1f}s, {result['objects_per_s']} objects/s")
        return result
    finally:
        cluster.stop()


async def _load(url: str, clients: int, requests: int, budget_s: float = 60.0) -> dict[str, Any]:
    """`clients` concurrent loops of `requests` GETs each (10 s timeout per request); a phase
    stops issuing requests after `budget_s`. Errors (timeouts, 5xx) are counted, not timed."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:

        async def one_client(count: int, record: bool, deadline: float) -> None:
            for _ in range(count):
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    resp = await http.get(url)
                    kind = None if resp.status_code == 200 else f"http_{resp.status_code}"
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                dt = time.perf_counter() - t0
                if kind is not None:
                    errors[kind] = errors.get(kind, 0) + 1
                elif record:
                    latencies.append(dt)

        warm = time.perf_counter() + budget_s / 4
        await asyncio.gather(*(one_client(2, False, warm) for _ in range(clients)))
        errors.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client(requests, True, t0 + budget_s) for _ in range(clients)))
        wall = time.perf_counter() - t0
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "clients": clients,
        "ok": len(latencies),
        "errors": errors,
        "wall_s": round(wall, 2),
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    }


def latency(shard: list[tuple[str, bytes]], levels: list[int], requests: int) -> dict[str, Any]:
    log("latency: starting a cluster (1 worker) and loading one shard")
    cluster = Cluster(1, parse_workers=0)
    try:
        st = cluster.state()
        nginx, direct = st["nginx_url"], st["api_urls"][0]
        with httpx.Client(timeout=600) as http:
            resp = http.post(
                f"{nginx}/api/v1/files/upload",
                params={"wait": "true"},
                data={"project_id": "reads", "repository_name": "warehouse", "create_project": "true"},
                files=[("files", (name, data, "application/octet-stream")) for name, data in shard],
            )
            resp.raise_for_status()
            project_id = resp.json()["project_id"]
        path = f"/api/v1/lineage/nodes?project_id={project_id}&limit=20"
        out: dict[str, Any] = {"endpoint": "GET /api/v1/lineage/nodes?project_id=…&limit=20"}
        # lightest first: an overloaded instance may not recover (see docs/BENCHMARKS.md, Cluster)
        for clients in sorted(levels):
            order = [("direct_instance_a", direct), ("nginx_two_instances", nginx)]
            if clients > 30:  # past the store's connection pool: nginx first, then the single instance
                order.reverse()
            for name, base in order:
                load_before = os.getloadavg()[0]
                res = asyncio.run(_load(base + path, clients, requests))
                res["loadavg_1m_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
                out[f"{name}_{clients}_clients"] = res
                log(f"  {name}, {clients} clients: {res}")
                _recover(http_base=base)
        return out
    finally:
        cluster.stop()


def _recover(http_base: str, timeout: float = 120.0) -> None:
    """After an overload phase, wait until the instance answers promptly again."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if http.get(f"{http_base}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 25])
    parser.add_argument("--requests", type=int, default=30, help="per client (60 s budget per phase)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()

    from finlineage.demo.generate import generate_corpus

    work = Path(tempfile.mkdtemp(prefix="finlineage-bench-corpus-"))
    try:
        stats = generate_corpus(args.objects, work / "corpus", seed=42)
        shards = shard_corpus(work / "corpus", args.shards)
        results: dict[str, Any] = {
            "benchmark": "cluster",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "note": "shared machine: other processes were running; see loadavg_1m_before_after",
            "corpus": {"objects": stats.objects, "files": stats.files, "shards": args.shards, "seed": 42},
        }
        if args.skip_throughput and RESULTS.exists():  # keep the previous throughput figures
            previous = json.loads(RESULTS.read_text())
            if "throughput" in previous:
                results["throughput"] = previous["throughput"]
                results["throughput_when"] = previous.get("when")
        if not args.skip_throughput:
            one = throughput(1, shards, stats.objects)
            two = throughput(2, shards, stats.objects)
            results["throughput"] = {
                "one_worker": one,
                "two_workers": two,
                "speedup": round(one["wall_s"] / two["wall_s"], 2),
            }
        results["read_latency"] = latency(shards[0], args.clients, args.requests)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {RESULTS}")
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
