"""Marquez read benchmark: how the pages the web UI reads (`/api/v1/namespaces/...`, `/jobs`,
`/lineage`, `/column-lineage`, `/search`, `/events/lineage`) cost as kept OpenLineage events grow.

    .venv/bin/python bench/bench_marquez_reads.py                          # 10,000 and 50,000 events
    .venv/bin/python bench/bench_marquez_reads.py --events 2000 --repeat 3 # a quick run
    git archive <commit> src | tar -x -C /tmp/mq-base                      # a baseline checkout, then
    .venv/bin/python bench/bench_marquez_reads.py --baseline-src /tmp/mq-base/src
        # the same store read by the baseline and by the current code in turn: per-page medians and
        # their ratio (same machine, same load window; the figure to compare on a shared machine)

For each event count: a fresh SQLite store in a temp dir; the events of bench/bench_openlineage.py
over `--jobs` jobs (default 1,000: 10,000 events are 5 runs of each, 50,000 are 25; START + COMPLETE) are POSTed one per request through the API to an
in-process app (the baseline code ingests when given, so both codes read the same rows; the store
is copied for each code, which migrates its copy at start). Then each page is GET `--repeat` times
(after one unmeasured warm-up GET) and the median is kept. Every GET must answer 200; the run fails
otherwise. Writes bench/results/marquez_reads.json (`--out`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def _e(x: str) -> str:
    return quote(x, safe="")


PAGES: list[tuple[str, str]] = [
    ("namespaces", "/api/v1/namespaces"),
    ("datasets_db", f"/api/v1/namespaces/{_e('mssql://bench-db')}/datasets?limit=100"),
    ("datasets_landing", f"/api/v1/namespaces/{_e('s3://landing')}/datasets?limit=100"),
    ("dataset", f"/api/v1/namespaces/{_e('mssql://bench-db')}/datasets/stage.t0"),
    ("dataset_versions", f"/api/v1/namespaces/{_e('mssql://bench-db')}/datasets/stage.t0/versions?limit=10"),
    ("input_versions", f"/api/v1/namespaces/{_e('s3://landing')}/datasets/{_e('feed/1')}/versions?limit=10"),
    ("jobs", "/api/v1/jobs?limit=100"),
    ("job", "/api/v1/namespaces/bench-spark/jobs/job_0001"),
    ("job_runs", "/api/v1/namespaces/bench-spark/jobs/job_0001/runs"),
    ("lineage", f"/api/v1/lineage?nodeId={_e('dataset:mssql://bench-db:stage.t0')}&depth=2"),
    (
        "column_lineage",
        f"/api/v1/column-lineage?nodeId={_e('datasetField:mssql://bench-db:stage.t0:c1')}&depth=2",
    ),
    ("search", "/api/v1/search?q=stage"),
    ("events", "/api/v1/events/lineage?limit=100"),
]


def _client(data: Path) -> Any:
    from fastapi.testclient import TestClient

    from finlineage.api.app import create_app
    from finlineage.settings import Settings

    s = Settings(
        data_dir=data / "data",
        log_dir=data / "logs",
        load_demo=False,
        embeddings_enabled=False,
        parse_workers=1,
        auth="off",
    )
    return TestClient(create_app(s), base_url="http://127.0.0.1")


def _ingest(data: Path, events: int, jobs: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_openlineage as ol

    bodies = ol._events(events, jobs)
    t0 = time.perf_counter()
    with _client(data) as c:
        for body in bodies:
            r = c.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
            if r.status_code != 201:
                raise SystemExit(f"POST /api/v1/lineage: {r.status_code} {r.text[:300]}")
    return {"events": len(bodies), "jobs": jobs, "ingest_s": round(time.perf_counter() - t0, 1)}


def _read(data: Path, repeat: int) -> dict[str, Any]:
    pages: dict[str, Any] = {}
    with _client(data) as c:
        for name, url in PAGES:
            c.get(url)
            times: list[float] = []
            size = 0
            for _ in range(repeat):
                a = time.perf_counter()
                r = c.get(url)
                times.append(time.perf_counter() - a)
                if r.status_code != 200:
                    raise SystemExit(f"GET {url}: {r.status_code} {r.text[:300]}")
                size = len(r.content)
            pages[name] = {"url": url, "median_ms": round(statistics.median(times) * 1000, 1), "bytes": size}
    return pages


def _child(src: Path | None, *args: str) -> dict[str, Any]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = f"{src}{os.pathsep}{env.get('PYTHONPATH', '')}"
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, check=True, capture_output=True, text=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="10000,50000", help="comma-separated event counts")
    ap.add_argument(
        "--jobs",
        type=int,
        default=1000,
        help="jobs the events are spread over (fixed: more events are more runs of the same jobs, as "
        "a scheduler's history grows)",
    )
    ap.add_argument(
        "--stores",
        type=Path,
        help="keep each ingested store in DIR/<events>x<jobs> and reuse it when present (skips the ingest)",
    )
    ap.add_argument("--repeat", type=int, default=5, help="timed GETs per page (the median is kept)")
    ap.add_argument("--baseline-src", type=Path, help="the `src` directory of another checkout")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "marquez_reads.json")
    ap.add_argument("--phase", choices=["ingest", "read"], help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.disable(logging.INFO)
    if args.phase == "ingest":
        print(json.dumps(_ingest(args.data, int(args.events), args.jobs)))
        return 0
    if args.phase == "read":
        print(json.dumps(_read(args.data, args.repeat)))
        return 0

    sizes: list[dict[str, Any]] = []
    for n in (int(x) for x in args.events.split(",")):
        with tempfile.TemporaryDirectory(prefix="finlineage-mqbench-") as tmp:
            store = (args.stores or Path(tmp)) / f"{n}x{args.jobs}"
            load_before = os.getloadavg()[0]
            if (store / "ingest.json").exists():
                ingest = json.loads((store / "ingest.json").read_text())
            else:
                shutil.rmtree(store, ignore_errors=True)
                ingest = _child(
                    args.baseline_src,
                    *(
                        "--phase",
                        "ingest",
                        "--events",
                        str(n),
                        "--jobs",
                        str(args.jobs),
                        "--data",
                        str(store),
                    ),
                )
                (store / "ingest.json").write_text(json.dumps(ingest))
            row: dict[str, Any] = {**ingest, "load_avg_1m_before": round(load_before, 2)}
            codes: list[tuple[str, Path | None]] = [("current", None)]
            if args.baseline_src is not None:
                codes.insert(0, ("baseline", args.baseline_src))
            for label, src in codes:
                copy = Path(tmp) / label
                shutil.copytree(store, copy)
                row[label] = _child(src, "--phase", "read", "--repeat", str(args.repeat), "--data", str(copy))
            row["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
            if "baseline" in row:
                row["ratio_current_to_baseline"] = {
                    k: round(row["current"][k]["median_ms"] / max(0.1, v["median_ms"]), 3)
                    for k, v in row["baseline"].items()
                }
            sizes.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "benchmark": "marquez_reads",
        "backend": "sqlite",
        "command": " ".join(["bench/bench_marquez_reads.py", *sys.argv[1:]]),
        "repeat": args.repeat,
        "baseline_src": str(args.baseline_src) if args.baseline_src else None,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "sizes": sizes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
