"""`/explain` latency on the generated 10,000-object corpus, in-process (no HTTP).

    .venv/bin/python bench/bench_explain.py                      # 10,000 objects, 200 columns
    .venv/bin/python bench/bench_explain.py --objects 2000 --columns 100

1. Generates the corpus (`finlineage.demo.generate.generate_corpus`, seed 42) and ingests it into
   a fresh SQLite store with the real ingestion service (timed, not part of the figures).
2. Picks `--columns` random columns that have at least one writer (a column edge targets them),
   seeded, and calls `finlineage.query.explain.explain_column` for each by its
   `schema.table.column` name — the code `GET /column/{ref}/explain` runs — once with
   `through="persistent"` (the route's default) and once with `through="all"`, a fresh session
   per call, after `--warmup` untimed calls. Wall time and thread CPU time per call.
3. Prints p50/p95/p99/max and writes bench/results/explain.json. Target: p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from corpus_store import ingest  # noqa: E402  (bench/ is sys.path[0] when run)

TARGET_P95_MS = 50.0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


def pick_columns(sessions: Any, pid: int, n: int, seed: int) -> tuple[list[str], int]:
    from sqlalchemy import select

    from finlineage.store.models import CatalogObject, Column, ColumnEdge

    with sessions() as s:
        rows = s.execute(
            select(CatalogObject.canonical_id, Column.name)
            .join(Column, Column.object_id == CatalogObject.id)
            .where(
                CatalogObject.project_id == pid,
                Column.id.in_(select(ColumnEdge.target_column_id).distinct()),
            )
            .order_by(Column.id)
        ).all()
    refs = [f"{obj}.{col}" for obj, col in rows]
    rng = random.Random(seed)
    return rng.sample(refs, min(n, len(refs))), len(refs)


def measure(
    sessions: Any, pid: int, refs: list[str], through: str, data_dir: Path, warmup: int
) -> dict[str, Any]:
    from finlineage.query.common import Scope
    from finlineage.query.explain import explain_column
    from finlineage.settings import Settings

    cap = int(Settings().walk_node_cap)
    for ref in refs[:warmup]:
        with sessions() as s:
            explain_column(s, Scope(project_id=pid), ref, through=through, data_dir=data_dir, max_nodes=cap)  # type: ignore[arg-type]
    wall: list[float] = []
    cpu: list[float] = []
    steps: list[int] = []
    truncated = 0
    for ref in refs:
        t0, c0 = time.perf_counter(), time.thread_time()
        with sessions() as s:
            out = explain_column(
                s, Scope(project_id=pid), ref, through=through, data_dir=data_dir, max_nodes=cap
            )  # type: ignore[arg-type]
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
        steps.append(len(out.steps))
        truncated += 1 if getattr(out, "truncated", False) else 0
    return {
        "through": through,
        "calls": len(refs),
        "wall_ms_p50": round(pct(wall, 0.5), 2),
        "wall_ms_p95": round(pct(wall, 0.95), 2),
        "wall_ms_p99": round(pct(wall, 0.99), 2),
        "wall_ms_max": round(max(wall), 2),
        "wall_ms_mean": round(statistics.mean(wall), 2),
        "cpu_ms_p50": round(pct(cpu, 0.5), 2),
        "cpu_ms_p95": round(pct(cpu, 0.95), 2),
        "steps_p50": pct([float(x) for x in steps], 0.5),
        "steps_max": max(steps),
        "truncated_answers": truncated,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "meets_target": pct(wall, 0.95) <= TARGET_P95_MS,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--columns", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "explain.json")
    args = ap.parse_args()
    from finlineage.demo.generate import generate_corpus

    work = Path(tempfile.mkdtemp(prefix="finlineage-bench-explain-"))
    try:
        corpus = work / "corpus"
        generate_corpus(args.objects, corpus, seed=args.seed)
        load_before = round(os.getloadavg()[0], 2)
        engine, sessions, pid, ingest_s = ingest(corpus, f"sqlite:///{work / 'store.db'}", work / "data")
        print(f"ingested {args.objects} objects in {ingest_s:.1f}s", flush=True)
        refs, candidates = pick_columns(sessions, pid, args.columns, args.seed)
        results = []
        for through in ("persistent", "all"):
            r = measure(sessions, pid, refs, through, work / "data", args.warmup)
            print(json.dumps(r), flush=True)
            results.append(r)
        engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    payload = {
        "benchmark": "explain",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "corpus": {"objects": args.objects, "seed": args.seed, "ingest_s": round(ingest_s, 1)},
        "columns_with_writers": candidates,
        "columns_sampled": len(refs),
        "load_avg_1m_before": load_before,
        "target_p95_ms": TARGET_P95_MS,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
