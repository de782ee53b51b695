"""A small, realistic bank lineage graph built with the store's repository functions, on both
backends (via `database_url`), plus a real OpenAI-compatible HTTP server for LLM tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from finlineage.lineage.model import ColumnDef
from finlineage.store import db as store_db
from finlineage.store import repositories as repo

from .fake_llm import FakeLLM

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FILES = {
    "ddl/raw.sql": "CREATE TABLE raw.venue_trades (trade_id INT, quantity INT, price DECIMAL(18,6), side_sign INT, cpty_code VARCHAR(20), trade_ccy CHAR(3));\nCREATE TABLE ref.fx_rates (ccy CHAR(3), fx_rate DECIMAL(18,8), rate_date DATE);\nCREATE TABLE ref.counterparties (cpty_code VARCHAR(20), cpty_lei CHAR(20));",
    "procs/usp_build_trades.sql": "CREATE PROCEDURE stg.usp_build_trades AS\nBEGIN\n  INSERT INTO stg.trades (trade_key, signed_qty, notional_local, trade_ccy, cpty_lei)\n  SELECT 'A-' + t.trade_id, t.side_sign * t.quantity, t.side_sign * t.quantity * t.price, t.trade_ccy, c.cpty_lei\n  FROM raw.venue_trades t JOIN ref.counterparties c ON c.cpty_code = t.cpty_code\nEND",
    "procs/usp_build_exposure.sql": "CREATE PROCEDURE mart.usp_build_exposure AS\nBEGIN\n  INSERT INTO mart.exposure (cpty_lei, exposure_usd)\n  SELECT t.cpty_lei, SUM(t.notional_local * fx.fx_rate)\n  FROM stg.trades t JOIN ref.fx_rates fx ON fx.ccy = t.trade_ccy\n  GROUP BY t.cpty_lei\nEND",
    "views/rpt.sql": "CREATE VIEW rpt.v_exposure_summary AS\nSELECT e.cpty_lei, e.exposure_usd, CASE WHEN e.exposure_usd > 1000000 THEN 'HIGH' ELSE 'LOW' END AS band\nFROM mart.exposure e;",
}

OBJECTS = [
    # canonical, kind, file, lines, columns
    (
        "raw.venue_trades",
        "table",
        "ddl/raw.sql",
        (1, 1),
        ["trade_id", "quantity", "price", "side_sign", "cpty_code", "trade_ccy"],
    ),
    ("ref.fx_rates", "table", "ddl/raw.sql", (2, 2), ["ccy", "fx_rate", "rate_date"]),
    ("ref.counterparties", "table", "ddl/raw.sql", (3, 3), ["cpty_code", "cpty_lei"]),
    (
        "stg.trades",
        "table",
        None,
        None,
        ["trade_key", "signed_qty", "notional_local", "trade_ccy", "cpty_lei"],
    ),
    ("mart.exposure", "table", None, None, ["cpty_lei", "exposure_usd"]),
    ("rpt.v_exposure_summary", "view", "views/rpt.sql", (1, 3), ["cpty_lei", "exposure_usd", "band"]),
    ("stg.usp_build_trades", "procedure", "procs/usp_build_trades.sql", (1, 6), []),
    ("mart.usp_build_exposure", "procedure", "procs/usp_build_exposure.sql", (1, 7), []),
]

# (source ref, target ref, expression, process, file, line)
COLUMN_EDGES = [
    (
        "raw.venue_trades.trade_id",
        "stg.trades.trade_key",
        "'A-' + t.trade_id",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.side_sign",
        "stg.trades.signed_qty",
        "t.side_sign * t.quantity",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.quantity",
        "stg.trades.signed_qty",
        "t.side_sign * t.quantity",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.side_sign",
        "stg.trades.notional_local",
        "t.side_sign * t.quantity * t.price",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.quantity",
        "stg.trades.notional_local",
        "t.side_sign * t.quantity * t.price",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.price",
        "stg.trades.notional_local",
        "t.side_sign * t.quantity * t.price",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "raw.venue_trades.trade_ccy",
        "stg.trades.trade_ccy",
        "t.trade_ccy",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "ref.counterparties.cpty_lei",
        "stg.trades.cpty_lei",
        "c.cpty_lei",
        "stg.usp_build_trades",
        "procs/usp_build_trades.sql",
        3,
    ),
    (
        "stg.trades.cpty_lei",
        "mart.exposure.cpty_lei",
        "t.cpty_lei",
        "mart.usp_build_exposure",
        "procs/usp_build_exposure.sql",
        3,
    ),
    (
        "stg.trades.notional_local",
        "mart.exposure.exposure_usd",
        "SUM(t.notional_local * fx.fx_rate)",
        "mart.usp_build_exposure",
        "procs/usp_build_exposure.sql",
        3,
    ),
    (
        "ref.fx_rates.fx_rate",
        "mart.exposure.exposure_usd",
        "SUM(t.notional_local * fx.fx_rate)",
        "mart.usp_build_exposure",
        "procs/usp_build_exposure.sql",
        3,
    ),
    ("mart.exposure.cpty_lei", "rpt.v_exposure_summary.cpty_lei", "e.cpty_lei", None, "views/rpt.sql", 2),
    (
        "mart.exposure.exposure_usd",
        "rpt.v_exposure_summary.exposure_usd",
        "e.exposure_usd",
        None,
        "views/rpt.sql",
        2,
    ),
    (
        "mart.exposure.exposure_usd",
        "rpt.v_exposure_summary.band",
        "CASE WHEN e.exposure_usd > 1000000 THEN 'HIGH' ELSE 'LOW' END",
        None,
        "views/rpt.sql",
        2,
    ),
]


@dataclass
class BankGraph:
    url: str
    sessions: sessionmaker[Session]
    project_id: int
    objects: dict[str, int]


def build_bank_graph(session: Session, project_name: str = "bank") -> int:
    pid = repo.create_project(session, project_name).id
    repo_row = repo.create_repository(session, pid, "warehouse")
    file_ids: dict[str, int] = {}
    for path, body in FILES.items():
        f, _ = repo.record_file(session, repo_row.id, path, f"{abs(hash(body)):064d}"[:64], size=len(body))
        file_ids[path] = f.id
    specs = [
        repo.ObjectSpec(
            canonical_id=cid,
            kind=kind,
            definition=FILES[file] if file else None,
            file_id=file_ids[file] if file else None,
            line_start=lines[0] if lines else None,
            line_end=lines[1] if lines else None,
            columns=tuple(ColumnDef(c, i) for i, c in enumerate(cols)),
        )
        for cid, kind, file, lines, cols in OBJECTS
    ]
    obj_ids = {cid: v[0] for cid, v in repo.ensure_objects(session, pid, specs).items()}
    refs = {r for e in COLUMN_EDGES for r in e[:2]}
    col_ids = repo.ensure_column_refs(session, pid, sorted(refs))
    repo.insert_column_edges(
        session,
        pid,
        [
            {
                "source_column_id": col_ids[s],
                "target_column_id": col_ids[t],
                "expression": expr,
                "process_object_id": obj_ids[proc] if proc else None,
                "file_id": file_ids[file],
                "line_start": line,
                "line_end": line,
            }
            for s, t, expr, proc, file, line in COLUMN_EDGES
        ],
    )
    tables: dict[tuple[str, str], tuple[str | None, str, int]] = {}
    for s, t, _expr, proc, file, line in COLUMN_EDGES:
        tables.setdefault((s.rpartition(".")[0], t.rpartition(".")[0]), (proc, file, line))
    repo.insert_table_edges(
        session,
        pid,
        [
            {
                "source_object_id": obj_ids[s],
                "target_object_id": obj_ids[t],
                "process_object_id": obj_ids[proc] if proc else None,
                "file_id": file_ids[file],
                "line_start": line,
                "line_end": line,
            }
            for (s, t), (proc, file, line) in sorted(tables.items())
        ],
    )
    chunks = []
    for cid, _kind, file, lines, _cols in OBJECTS:
        if file:
            chunks.append(
                {
                    "project_id": pid,
                    "object_id": obj_ids[cid],
                    "file_id": file_ids[file],
                    "line_start": lines[0] if lines else None,
                    "line_end": lines[1] if lines else None,
                    "text": FILES[file],
                }
            )
    repo.insert_code_chunks(session, chunks)
    session.flush()
    return pid


@pytest.fixture
def bank(database_url: str) -> Iterator[BankGraph]:
    engine = store_db.create_engine_for(database_url)
    sessions = store_db.session_factory(engine)
    with sessions.begin() as s:
        pid = build_bank_graph(s)
    with sessions() as s:
        from finlineage.store.models import CatalogObject

        objs = {o.canonical_id: o.id for o in s.query(CatalogObject).filter_by(project_id=pid)}
    try:
        yield BankGraph(database_url, sessions, pid, objs)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    server = FakeLLM()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    fake_llm_server.requests.clear()
    fake_llm_server.times.clear()
    fake_llm_server.script([])
    fake_llm_server.default = {"echo_evidence": True}
    yield fake_llm_server
    fake_llm_server.script([])
