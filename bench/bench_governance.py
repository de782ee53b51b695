"""Governance benchmark: what versioning costs.

1. corpus: the generated 10,000-object corpus ingested, 1 % of its files changed (a real
   expression change, every fact of those files re-parsed), re-ingested: store growth (edge rows
   and bytes) and the time of the lineage diff between the two versions.
2. walks: the >= 1,000,000-column-edge synthetic graph of ``bench_graph.py`` as version 1, a
   version 2 that closes 1 % of the edges and opens as many replacements (what a re-ingest does),
   then depth-10 column walks on the current graph vs ``as_of=1`` (p95).

    .venv/bin/python bench/bench_governance.py                     # both parts, SQLite
    .venv/bin/python bench/bench_governance.py --part walks --edges 200000

Writes bench/results/governance.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import text  # noqa: E402

from finlineage.store import db as store_db  # noqa: E402


def _size(engine: Any) -> tuple[int, int]:
    with engine.connect() as c:
        edges = int(
            c.execute(
                text("SELECT (SELECT count(*) FROM table_edges) + (SELECT count(*) FROM column_edges)")
            ).scalar()
        )
        pages = (
            c.exec_driver_sql("PRAGMA page_count").scalar()
            - c.exec_driver_sql("PRAGMA freelist_count").scalar()
        )
        return edges, int(pages * c.exec_driver_sql("PRAGMA page_size").scalar())


def corpus_part(tmp: Path, objects: int, change: float, seed: int) -> dict[str, Any]:
    from finlineage.demo.generate import generate_corpus
    from finlineage.ingest.service import IngestionService
    from finlineage.query import diff as qdiff
    from finlineage.settings import Settings

    corpus = tmp / "corpus"
    generate_corpus(objects, corpus, seed=seed)
    settings = Settings(
        data_dir=tmp / "data",
        log_dir=tmp / "logs",
        database_url=f"sqlite:///{tmp / 'corpus.db'}",
        load_demo=False,
        embeddings_enabled=False,
        parse_workers=2,
    )
    settings.ensure_dirs()
    store_db.migrate(settings.effective_database_url)
    engine = store_db.create_engine_for(settings.effective_database_url)
    sessions = store_db.session_factory(engine)
    service = IngestionService(settings, sessions)

    def ingest() -> float:
        run = service.create_directory_run(
            project="bench", paths=[str(corpus)], repository_name="r", restrict=False, create_project=True
        )
        t0 = time.perf_counter()
        res = service.run_sync(run)
        assert res.status == "completed", res.error
        return time.perf_counter() - t0

    first = ingest()
    edges1, bytes1 = _size(engine)
    files = sorted(corpus.rglob("*.sql"))
    rng = random.Random(seed)
    changed = rng.sample(files, max(1, round(len(files) * change)))
    for p in changed:
        body = p.read_text()
        p.write_text("-- changed for the benchmark\n" + body.replace(" + ", " - ", 1))
    second = ingest()
    edges2, bytes2 = _size(engine)
    timings = []
    with sessions() as s:
        for _ in range(3):
            t0 = time.perf_counter()
            d = qdiff.diff(s, "bench", 1, 2, data_dir=settings.data_dir)
            timings.append(time.perf_counter() - t0)
    service.close(interrupt=False)
    engine.dispose()
    return {
        "objects": objects,
        "files": len(files),
        "files_changed": len(changed),
        "first_ingest_s": round(first, 1),
        "reingest_s": round(second, 1),
        "edge_rows_v1": edges1,
        "edge_rows_v2": edges2,
        "edge_rows_growth_pct": round(100 * (edges2 - edges1) / edges1, 2),
        "store_bytes_v1": bytes1,
        "store_bytes_v2": bytes2,
        "store_growth_pct": round(100 * (bytes2 - bytes1) / bytes1, 2),
        "diff_s_min": round(min(timings), 2),
        "diff_s_max": round(max(timings), 2),
        "diff": {
            "added": len(d.added),
            "removed": len(d.removed),
            "changed": len(d.changed),
            "impacted": len(d.impacted),
        },
    }


def walks_part(tmp: Path, n_edges: int, starts: int, depth: int, seed: int) -> dict[str, Any]:
    import bench_graph

    from finlineage.store import graph

    url = f"sqlite:///{tmp / 'walks.db'}"
    g = bench_graph.generate(n_edges, seed)
    load_s = bench_graph.load_sqlite(url, g)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    rng = random.Random(seed + 7)
    closed = rng.sample([e[0] for e in g.edges], max(1, len(g.edges) // 100))
    with conn:
        conn.execute("UPDATE column_edges SET status = 'observed', version_from = 1, created_by = 'parser'")
        for v in (1, 2):
            conn.execute(
                "INSERT INTO graph_versions (project_id, version, created_at, finalized_at, files, objects, edges)"
                " VALUES (1, ?, ?, ?, 0, 0, 0)",
                (v, now, now),
            )
        conn.executemany("UPDATE column_edges SET version_to = 2 WHERE id = ?", [(i,) for i in closed])
        conn.execute(
            "INSERT INTO column_edges (project_id, source_column_id, target_column_id, kind, expression, confidence,"
            " origin, status, created_by, created_at, line_start, line_end, version_from)"
            " SELECT project_id, source_column_id, target_column_id, kind, expression || ' + 0', 1.0, 'parser',"
            " 'observed', 'parser', created_at, 1, 1, 2 FROM column_edges WHERE version_to = 2"
        )
        # the walk indexes as migration 0003 defines them (bench_graph builds the older ones)
        conn.execute("DROP INDEX ix_column_edges_up")
        conn.execute("DROP INDEX ix_column_edges_down")
        cover = "status, kind, version_from, version_to"
        conn.execute(
            f"CREATE INDEX ix_column_edges_up ON column_edges (target_column_id, source_column_id, {cover})"
        )
        conn.execute(
            f"CREATE INDEX ix_column_edges_down ON column_edges (source_column_id, target_column_id, {cover})"
        )
    conn.execute("ANALYZE")
    conn.close()
    engine = store_db.create_engine_for(url)
    factory = store_db.session_factory(engine)
    out: dict[str, Any] = {
        "edges": len(g.edges),
        "closed_and_reopened": len(closed),
        "load_s": round(load_s, 1),
    }
    pick = random.Random(seed + 1)
    n_cols = len(g.columns)
    with factory() as s:
        for warm in pick.sample(range(1, n_cols + 1), 30):
            graph.traverse(s, warm, direction="upstream", depth=depth)
            graph.traverse(s, warm, direction="upstream", depth=depth, as_of=1)
        for direction in ("upstream", "downstream"):
            cols = pick.sample(range(1, n_cols + 1), starts)
            res: dict[str, list[float]] = {"current": [], "as_of": []}
            for start in cols:  # interleaved, so load changes hit both alike
                for key, as_of in (("current", None), ("as_of", 1)):
                    t0 = time.perf_counter()
                    graph.traverse(s, start, direction=direction, depth=depth, as_of=as_of)  # type: ignore[arg-type]
                    res[key].append((time.perf_counter() - t0) * 1000)
            cur, old = bench_graph.pct(res["current"], 95), bench_graph.pct(res["as_of"], 95)
            out[direction] = {
                "queries": starts,
                "current_p50_ms": round(bench_graph.pct(res["current"], 50), 2),
                "current_p95_ms": round(cur, 2),
                "as_of_p50_ms": round(bench_graph.pct(res["as_of"], 50), 2),
                "as_of_p95_ms": round(old, 2),
                "p95_ratio": round(old / cur, 2) if cur else None,
            }
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("all", "corpus", "walks"), default="all")
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--change", type=float, default=0.01)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "governance.json")
    args = ap.parse_args()
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "backend": "sqlite",
    }
    with tempfile.TemporaryDirectory(prefix="finlineage-bench-gov-") as tmp_name:
        tmp = Path(tmp_name)
        if args.part in ("all", "corpus"):
            result["corpus"] = corpus_part(tmp, args.objects, args.change, args.seed)
            print(json.dumps(result["corpus"], indent=2), flush=True)
        if args.part in ("all", "walks"):
            result["walks"] = walks_part(tmp, args.edges, args.starts, args.depth, args.seed)
            print(json.dumps(result["walks"], indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
