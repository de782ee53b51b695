"""Throughput of the lineage engine on the 99 TPC-DS queries (Spark SQL), one process.

Usage: .venv/bin/python bench/bench_engine.py [--corpus DIR] [--runs 5] [--baseline-runs 1]
       [--out bench/results/engine.json]
Measures full table + column lineage (`finlineage.lineage.extract`) per query, reports the median
queries/s over the runs, the number of queries with column lineage, and the peak RSS. In the same
process it times plain sqlglot (`sqlglot.lineage.lineage` for every output column of each query,
the query parsed once) and reports the CPU-time ratio engine / sqlglot (`--baseline-runs 0`: skip).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "bench" / "tpcds"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--dialect", default="spark")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline-runs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "engine.json")
    args = ap.parse_args(argv)

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    from finlineage.lineage import extract

    files = sorted(args.corpus.glob("*.sql"))
    if not files:
        print(f"no .sql files in {args.corpus}", file=sys.stderr)
        return 2
    queries = [f.read_text() for f in files]

    extract(queries[0], args.dialect)  # warm-up (imports, dialect tables)
    rates: list[float] = []
    cpu_rates: list[float] = []
    with_columns = 0
    failures: list[str] = []
    for run in range(args.runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        results = [extract(q, args.dialect) for q in queries]
        dt = time.perf_counter() - t0
        rates.append(len(queries) / dt)
        cpu_rates.append(len(queries) / max(time.process_time() - c0, 1e-9))
        if run == 0:
            for f, r in zip(files, results, strict=True):
                # column lineage = edges into every output, some with source columns
                # (COUNT(*) alone has only row-level/indirect sources), and no error
                edges = [e for s in r.statements for e in s.column_edges]
                has_sources = any(e.sources for e in edges)
                errors = [d for s in r.statements for d in s.diagnostics if d.severity == "error"]
                if edges and has_sources and not errors:
                    with_columns += 1
                else:
                    failures.append(f.name)
    baseline = _sqlglot_baseline(queries, args.dialect, args.baseline_runs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {
        "corpus": str(args.corpus),
        "queries": len(queries),
        "runs": args.runs,
        "queries_per_s_median": round(statistics.median(rates), 1),
        "queries_per_s_runs": [round(r, 1) for r in rates],
        "ms_per_query_median": round(1000 / statistics.median(rates), 2),
        "queries_per_cpu_s_median": round(statistics.median(cpu_rates), 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "queries_with_column_lineage": with_columns,
        "queries_without_column_lineage": failures,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "sqlglot_baseline": baseline,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(
        f"TPC-DS lineage: {out['queries_per_s_median']} queries/s (median of {args.runs} runs, "
        f"{out['ms_per_query_median']} ms/query; {out['queries_per_cpu_s_median']} per CPU-second, "
        f"load {out['load_average_1m']} on {out['cpus']} CPUs), column lineage for {with_columns}/{len(queries)}, "
        f"peak RSS {out['peak_rss_mb']} MB -> {args.out}"
    )
    if baseline:
        print(
            f"plain sqlglot lineage(): {baseline['queries_per_cpu_s_median']} queries per CPU-second, "
            f"column lineage for {baseline['queries_with_column_lineage']}/{len(queries)}; "
            f"engine / sqlglot = {round(out['queries_per_cpu_s_median'] / baseline['queries_per_cpu_s_median'], 1)}x"
        )
    return 0


def _sqlglot_baseline(queries: list[str], dialect: str, runs: int) -> dict[str, object] | None:
    """Plain sqlglot in the same process: `lineage()` of every output column of each query."""
    if runs <= 0:
        return None
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    cpu_rates: list[float] = []
    with_columns = 0
    for run in range(runs):
        c0 = time.process_time()
        ok = 0
        for q in queries:
            try:
                tree = sqlglot.parse_one(q, dialect=dialect)
                if isinstance(tree, exp.Insert):  # INSERT INTO t [WITH ...] SELECT: its query
                    with_ = tree.args.get("with_")
                    tree = tree.expression
                    if with_ is not None and not tree.args.get("with_"):
                        tree.set("with_", with_)
                names = [s.alias_or_name for s in tree.selects] if isinstance(tree, exp.Query) else []
                got = 0
                for name in names:
                    try:
                        node = lineage(name, tree, schema=None, dialect=dialect)
                        got += bool(node.downstream)
                    except (SqlglotError, ValueError, KeyError, AttributeError, TypeError):
                        pass
                ok += bool(names) and got > 0
            except (SqlglotError, ValueError, KeyError, AttributeError, TypeError):
                pass
        cpu_rates.append(len(queries) / max(time.process_time() - c0, 1e-9))
        if run == 0:
            with_columns = ok
    return {
        "runs": runs,
        "queries_per_cpu_s_median": round(statistics.median(cpu_rates), 1),
        "queries_with_column_lineage": with_columns,
    }


if __name__ == "__main__":
    raise SystemExit(main())
