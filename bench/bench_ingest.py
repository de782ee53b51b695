"""End-to-end ingestion benchmark: a generated 10,000-object corpus through `finlineage ingest`
(collect, dedup, parse in the process pool, bulk store writes, FTS index), then the same tree
again unchanged (everything skipped).

    .venv/bin/python bench/bench_ingest.py                          # SQLite, 10,000 objects
    .venv/bin/python bench/bench_ingest.py --objects 2000 --backends sqlite,postgres

Each ingestion runs the real CLI in a child process on a fresh data directory; wall time is
measured around it and peak RSS is the peak of the *sum* over the whole process tree (CLI +
parse workers), sampled from /proc every 100 ms (also reported: the largest single process from
getrusage(RUSAGE_CHILDREN)). Targets: first ingest <= 120 s and <= 1.5 GiB; re-ingest <= 10 s.

Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent
TARGETS = {"first_s": 120.0, "peak_rss_gib": 1.5, "reingest_s": 10.0}


def _tree_rss(pid: int) -> int:
    """Sum of RSS (bytes) of `pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            with open(f"/proc/{entry}/statm") as fh:
                rss[int(entry)] = int(fh.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, ()))
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    stop.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out[out.index("{") :])
    return {
        "wall_s": round(wall, 2),
        "cpu_s_tree": round(cpu, 1),
        "load_avg_1m_after": round(os.getloadavg()[0], 1),
        "peak_rss_tree_mib": round(peak / 1048576, 1),
        "status": result["status"],
        "files_processed": result["files_processed"],
        "files_skipped_duplicate": result["files_skipped_duplicate"],
        "files_failed": result["files_failed"],
        "files_reresolved": result["files_reresolved"],
        "nodes_created": result["total_nodes_created"],
        "edges_created": result["total_edges_created"],
        "run_duration_ms": result["duration_ms"],
    }


def bench_backend(backend: str, corpus: Path, work: Path, pg_url: str | None) -> dict[str, Any]:
    data = work / f"data-{backend}"
    env = {
        **os.environ,
        "FINLINEAGE_DATA_DIR": str(data),
        "FINLINEAGE_LOG_DIR": str(work / "logs"),
    }
    if backend == "postgres":
        assert pg_url
        env["FINLINEAGE_DATABASE_URL"] = pg_url
    else:
        env.pop("FINLINEAGE_DATABASE_URL", None)
    # migrate once outside the timing (`make run` has a migrated store too)
    subprocess.run([str(BIN / "finlineage"), "ingest", "--help"], env=env, capture_output=True, check=True)
    cmd = [
        str(BIN / "finlineage"),
        "ingest",
        str(corpus),
        "--project",
        "bench",
        "--create-project",
        "--allow-errors",
        "--repository",
        "corpus",
        "--json",
    ]
    first = run_measured(cmd, env)
    print(f"[{backend}] first ingest: {first}", flush=True)
    second = run_measured(cmd, env)
    print(f"[{backend}] re-ingest:    {second}", flush=True)
    children_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "first": first,
        "reingest": second,
        "largest_single_process_mib": round(children_max, 1),
        "meets_targets": first["wall_s"] <= TARGETS["first_s"]
        and first["peak_rss_tree_mib"] <= TARGETS["peak_rss_gib"] * 1024
        and second["wall_s"] <= TARGETS["reingest_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--backends", default="sqlite")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = ap.parse_args()
    from finlineage.demo.generate import generate_corpus

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="finlineage-bench-ingest-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        t0 = time.perf_counter()
        stats = generate_corpus(args.objects, corpus, seed=args.seed)
        gen_s = time.perf_counter() - t0
        n_files = sum(1 for p in corpus.rglob("*.sql"))
        size = sum(p.stat().st_size for p in corpus.rglob("*.sql"))
        print(f"corpus: {args.objects} objects, {n_files} files, {size / 1048576:.1f} MiB ({gen_s:.1f}s)")
        pg = None
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            url = None
            if backend == "postgres":
                from finlineage.store import db as store_db
                from finlineage.store.embedded_pg import EmbeddedPostgres

                pg = EmbeddedPostgres(work / "pg")
                pg.start()
                import psycopg

                with psycopg.connect(
                    f"host=127.0.0.1 port={pg.port} user=postgres dbname=postgres", autocommit=True
                ) as conn:
                    conn.execute('CREATE DATABASE "bench"')
                url = pg.url("bench")
                store_db.migrate(url)
            try:
                results[backend] = bench_backend(backend, corpus, work, url)
            finally:
                if pg is not None:
                    pg.stop()
                    pg = None
        payload = {
            "benchmark": "ingest",
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "corpus": {
                "objects": args.objects,
                "files": n_files,
                "bytes": size,
                "seed": args.seed,
                "stats": {k: v for k, v in vars(stats).items() if isinstance(v, int | str | dict)}
                if hasattr(stats, "__dict__")
                else str(stats),
            },
            "targets": TARGETS,
            "results": results,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
