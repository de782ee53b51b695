"""A small bank warehouse written straight into the store (no ingestion), shared by the query
and API tests.

    raw.trades ─┐                      ref.calendar (external, indirect)
                ├─► stg.trades (view) ─► dw.exposure ─► rpt.daily_risk (view)
    raw.fx_rates┘                        (process dw.load_exposure)
    raw.fx_rates ─ ─ (rejected llm edge) ─ ─► rpt.daily_risk

A second project `other` also defines `stg.trades` (ambiguity) and a cycle a.x → a.y → a.x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from finlineage.lineage.model import ColumnDef, Diagnostic
from finlineage.store import db as store_db
from finlineage.store import repositories as store
from finlineage.store.repositories import ObjectSpec

STG_SQL = (
    "CREATE VIEW stg.trades AS\n"
    "SELECT t.trade_id, t.amount * fx.rate AS amount_usd, t.trade_date\n"
    "FROM raw.trades t JOIN raw.fx_rates fx ON fx.ccy = t.ccy"
)
PROC_SQL = (
    "CREATE PROCEDURE dw.load_exposure AS\nBEGIN\n"
    "  INSERT INTO dw.exposure (exposure_usd, trade_date)\n"
    "  SELECT SUM(amount_usd), trade_date FROM stg.trades GROUP BY trade_date;\nEND"
)
RPT_SQL = "CREATE VIEW rpt.daily_risk AS\nSELECT exposure_usd AS total_exposure, trade_date FROM dw.exposure"


@dataclass
class BankGraph:
    project_id: int
    other_project_id: int
    repository_id: int
    other_repository_id: int
    objects: dict[str, int] = field(default_factory=dict)
    columns: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    other_objects: dict[str, int] = field(default_factory=dict)


def _cols(*names: str) -> tuple[ColumnDef, ...]:
    return tuple(ColumnDef(n, i + 1, "varchar") for i, n in enumerate(names))


def seed(session: Session) -> BankGraph:
    p = store.create_project(session, "bank", "retail bank warehouse")
    repo = store.create_repository(session, p.id, "warehouse", "directory", url="/srv/sql")
    files: dict[str, int] = {}
    for path, dialect, size in (
        ("ddl/raw.sql", "tsql", 400),
        ("stg/trades.sql", "tsql", len(STG_SQL)),
        ("dw/load_exposure.sql", "tsql", len(PROC_SQL)),
        ("rpt/daily_risk.sql", "postgres", len(RPT_SQL)),
        ("broken.sql", "tsql", 10),
    ):
        f, _ = store.record_file(
            session, repo.id, path, f"{path}-v1".ljust(64, "0"), size=size, dialect=dialect
        )
        files[path] = f.id
    # a changed file: v1 superseded by v2
    store.set_file_error(session, files["broken.sql"], "parse error at line 1")
    store.record_file(
        session, repo.id, "rpt/daily_risk.sql", "v2".ljust(64, "0"), size=len(RPT_SQL) + 1, dialect="postgres"
    )
    v2 = store.latest_file(session, repo.id, "rpt/daily_risk.sql")
    assert v2 is not None
    files["rpt/daily_risk.sql@v1"] = files["rpt/daily_risk.sql"]
    files["rpt/daily_risk.sql"] = v2.id

    specs = [
        ObjectSpec(
            "raw.trades",
            "table",
            "CREATE TABLE raw.trades (...)",
            files["ddl/raw.sql"],
            1,
            6,
            "tsql",
            columns=_cols("trade_id", "amount", "ccy", "trade_date"),
        ),
        ObjectSpec(
            "raw.fx_rates",
            "table",
            "CREATE TABLE raw.fx_rates (...)",
            files["ddl/raw.sql"],
            8,
            12,
            "tsql",
            columns=_cols("ccy", "rate", "rate_date"),
        ),
        ObjectSpec(
            "stg.trades",
            "view",
            STG_SQL,
            files["stg/trades.sql"],
            1,
            3,
            "tsql",
            diagnostics=[Diagnostic("star_without_schema", "no schema for raw.fx_rates", "info", 3)],
            columns=_cols("trade_id", "amount_usd", "trade_date"),
        ),
        ObjectSpec(
            "dw.exposure",
            "table",
            None,
            files["dw/load_exposure.sql"],
            3,
            4,
            "tsql",
            columns=_cols("exposure_usd", "trade_date"),
        ),
        ObjectSpec("dw.load_exposure", "procedure", PROC_SQL, files["dw/load_exposure.sql"], 1, 6, "tsql"),
        ObjectSpec(
            "rpt.daily_risk",
            "view",
            RPT_SQL,
            files["rpt/daily_risk.sql"],
            1,
            2,
            "postgres",
            columns=_cols("total_exposure", "trade_date"),
        ),
        ObjectSpec("ref.calendar", "external"),
    ]
    ids = store.ensure_objects(session, p.id, specs)
    objects = {cid: oid for cid, (oid, _) in ids.items()}
    columns = store.ensure_column_refs(
        session,
        p.id,
        [
            "raw.trades.trade_id",
            "raw.trades.amount",
            "raw.trades.ccy",
            "raw.trades.trade_date",
            "raw.fx_rates.ccy",
            "raw.fx_rates.rate",
            "stg.trades.trade_id",
            "stg.trades.amount_usd",
            "stg.trades.trade_date",
            "dw.exposure.exposure_usd",
            "dw.exposure.trade_date",
            "rpt.daily_risk.total_exposure",
            "rpt.daily_risk.trade_date",
            "ref.calendar.business_day",
        ],
    )
    o, c = objects, columns
    proc = o["dw.load_exposure"]
    store.insert_table_edges(
        session,
        p.id,
        [
            {
                "source_object_id": o["raw.trades"],
                "target_object_id": o["stg.trades"],
                "file_id": files["stg/trades.sql"],
                "line_start": 1,
                "line_end": 3,
                "status": "approved",
            },
            {
                "source_object_id": o["raw.fx_rates"],
                "target_object_id": o["stg.trades"],
                "file_id": files["stg/trades.sql"],
                "line_start": 1,
                "line_end": 3,
            },
            {
                "source_object_id": o["stg.trades"],
                "target_object_id": o["dw.exposure"],
                "file_id": files["dw/load_exposure.sql"],
                "line_start": 3,
                "line_end": 4,
                "process_object_id": proc,
            },
            {
                "source_object_id": o["ref.calendar"],
                "target_object_id": o["dw.exposure"],
                "kind": "indirect",
                "file_id": files["dw/load_exposure.sql"],
                "line_start": 4,
                "line_end": 4,
                "process_object_id": proc,
            },
            {
                "source_object_id": o["dw.exposure"],
                "target_object_id": o["rpt.daily_risk"],
                "file_id": files["rpt/daily_risk.sql"],
                "line_start": 1,
                "line_end": 2,
            },
            {
                "source_object_id": o["raw.fx_rates"],
                "target_object_id": o["rpt.daily_risk"],
                "origin": "inferred",
                "status": "rejected",
                "confidence": 0.4,
            },
        ],
    )
    stg_file, dw_file, rpt_file = (
        files["stg/trades.sql"],
        files["dw/load_exposure.sql"],
        files["rpt/daily_risk.sql"],
    )
    store.insert_column_edges(
        session,
        p.id,
        [
            {
                "source_column_id": c["raw.trades.trade_id"],
                "target_column_id": c["stg.trades.trade_id"],
                "expression": "t.trade_id",
                "file_id": stg_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["raw.trades.amount"],
                "target_column_id": c["stg.trades.amount_usd"],
                "expression": "t.amount * fx.rate",
                "file_id": stg_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["raw.fx_rates.rate"],
                "target_column_id": c["stg.trades.amount_usd"],
                "expression": "t.amount * fx.rate",
                "file_id": stg_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["raw.fx_rates.ccy"],
                "target_column_id": c["stg.trades.amount_usd"],
                "kind": "indirect",
                "expression": "fx.ccy = t.ccy",
                "file_id": stg_file,
                "line_start": 3,
                "line_end": 3,
            },
            {
                "source_column_id": c["raw.trades.trade_date"],
                "target_column_id": c["stg.trades.trade_date"],
                "expression": "t.trade_date",
                "file_id": stg_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["stg.trades.amount_usd"],
                "target_column_id": c["dw.exposure.exposure_usd"],
                "expression": "SUM(amount_usd)",
                "file_id": dw_file,
                "line_start": 4,
                "line_end": 4,
                "process_object_id": proc,
            },
            {
                "source_column_id": c["stg.trades.trade_date"],
                "target_column_id": c["dw.exposure.trade_date"],
                "expression": "trade_date",
                "file_id": dw_file,
                "line_start": 4,
                "line_end": 4,
                "process_object_id": proc,
            },
            {
                "source_column_id": c["dw.exposure.exposure_usd"],
                "target_column_id": c["rpt.daily_risk.total_exposure"],
                "expression": "exposure_usd",
                "file_id": rpt_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["dw.exposure.trade_date"],
                "target_column_id": c["rpt.daily_risk.trade_date"],
                "expression": "trade_date",
                "file_id": rpt_file,
                "line_start": 2,
                "line_end": 2,
            },
            {
                "source_column_id": c["raw.fx_rates.rate"],
                "target_column_id": c["rpt.daily_risk.total_exposure"],
                "origin": "inferred",
                "status": "rejected",
                "confidence": 0.3,
            },
        ],
    )

    # a second project: same name stg.trades (ambiguity), and a cycle
    q = store.create_project(session, "other")
    qrepo = store.create_repository(session, q.id, "adhoc", "sql")
    qf, _ = store.record_file(
        session, qrepo.id, "cycle.sql", "c".ljust(64, "0"), size=50, dialect="snowflake"
    )
    other = {
        cid: oid
        for cid, (oid, _) in store.ensure_objects(
            session,
            q.id,
            [
                ObjectSpec("STG.TRADES", "table", file_id=qf.id, columns=_cols("trade_id")),
                ObjectSpec("a.x", "table", file_id=qf.id, columns=_cols("v")),
                ObjectSpec("a.y", "table", file_id=qf.id, columns=_cols("v")),
            ],
        ).items()
    }
    qc = store.ensure_column_refs(session, q.id, ["a.x.v", "a.y.v"])
    store.insert_table_edges(
        session,
        q.id,
        [
            {"source_object_id": other["a.x"], "target_object_id": other["a.y"], "file_id": qf.id},
            {"source_object_id": other["a.y"], "target_object_id": other["a.x"], "file_id": qf.id},
        ],
    )
    store.insert_column_edges(
        session,
        q.id,
        [
            {"source_column_id": qc["a.x.v"], "target_column_id": qc["a.y.v"], "file_id": qf.id},
            {"source_column_id": qc["a.y.v"], "target_column_id": qc["a.x.v"], "file_id": qf.id},
        ],
    )
    return BankGraph(
        project_id=p.id,
        other_project_id=q.id,
        repository_id=repo.id,
        other_repository_id=qrepo.id,
        objects=objects,
        columns=columns,
        files=files,
        other_objects=other,
    )


def seed_url(database_url: str) -> BankGraph:
    engine: Engine = store_db.create_engine_for(database_url)
    try:
        with store_db.session_scope(store_db.session_factory(engine)) as session:
            return seed(session)
    finally:
        engine.dispose()
