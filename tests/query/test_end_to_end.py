"""Real SQL → lineage engine → store (the ingestion worker's facts and store writes, as the
ingestion service uses them) → the read API's queries. Same graph on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session, sessionmaker

from finlineage.query import catalog, lineage
from finlineage.query.common import Scope
from finlineage.query.export import export
from finlineage.store import ingest_writes
from finlineage.store import repositories as store
from query.openlineage_schema import validate_run_event

FILES = {
    "ddl.sql": """
CREATE TABLE raw.trades (trade_id INT, amount DECIMAL(18,2), ccy CHAR(3), trade_date DATE);
CREATE TABLE raw.fx_rates (ccy CHAR(3), rate DECIMAL(18,8));
""",
    "views.sql": """
CREATE VIEW stg.trades_usd AS
SELECT t.trade_id, t.amount * fx.rate AS amount_usd, t.trade_date
FROM raw.trades t
JOIN raw.fx_rates fx ON fx.ccy = t.ccy;
""",
    "marts.sql": """
CREATE TABLE mart.daily_exposure AS
SELECT trade_date, SUM(amount_usd) AS exposure_usd
FROM stg.trades_usd
GROUP BY trade_date;
""",
}


def _ingest(session: Session) -> int:
    project = store.create_project(session, "e2e")
    repo = store.create_repository(session, project.id, "sql", "sql")
    run = store.create_run(session, project.id, repository_id=repo.id)
    items = []
    for path, text in FILES.items():
        facts = ingest_writes_parse(text)
        fid = ingest_writes.add_file_version(
            session,
            repo.id,
            path,
            hashlib.sha256(text.encode()).hexdigest(),
            size=len(text),
            dialect="postgres",
            run_id=run.id,
            previous=None,
        )
        items.append((fid, facts))
    ingest_writes.write_facts(session, project.id, run.id, items)
    session.commit()
    return project.id


def ingest_writes_parse(text: str) -> dict:
    from finlineage.ingest.worker import parse_file

    facts = parse_file(text, "postgres", None, 5.0)
    facts.setdefault("dialect", "postgres")
    return facts


def test_ingested_sql_is_queryable(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        pid = _ingest(s)
    with session_factory() as s:
        up = lineage.column_lineage(
            s, "mart.daily_exposure.exposure_usd", "upstream", depth=10, project_id=pid
        )
        hops = {n.canonical_id: n.hop for n in up.nodes}
        assert hops["stg.trades_usd.amount_usd"] == 1
        assert hops["raw.trades.amount"] == 2 and hops["raw.fx_rates.rate"] == 2
        by_pair = {(e.source_canonical_id, e.target_canonical_id): e for e in up.edges}
        e = by_pair[("raw.trades.amount", "stg.trades_usd.amount_usd")]
        assert e.file == "views.sql" and e.line_start is not None and "amount" in (e.expression or "")

        table = lineage.node_lineage(s, "mart.daily_exposure", "upstream", depth=5, project_id=pid)
        assert {n.canonical_id for n in table.nodes} == {
            "mart.daily_exposure",
            "stg.trades_usd",
            "raw.trades",
            "raw.fx_rates",
        }
        imp = lineage.impact(s, "raw.fx_rates", project_id=pid)
        assert imp.total == 2
        path = lineage.find_path(s, "raw.trades", "mart.daily_exposure", project_id=pid)
        assert path.found and path.hops == 2

        d = catalog.node_detail(s, "stg.trades_usd", project_id=pid)
        assert d.kind == "view" and d.file is not None and d.file.path == "views.sql"
        assert [c.name for c in d.columns] == ["trade_id", "amount_usd", "trade_date"]
        assert {n.canonical_id for n in d.reads} == {"raw.trades", "raw.fx_rates"}

        events = json.loads(export(s, "openlineage", Scope(project_id=pid))[0])
        for ev in events:
            validate_run_event(ev)
        fields = {
            col: {(f["name"], f["field"]) for f in spec["inputFields"]}
            for ev in events
            for out in ev["outputs"]
            if out["name"] == "mart.daily_exposure"
            for col, spec in out["facets"].get("columnLineage", {}).get("fields", {}).items()
        }
        assert ("stg.trades_usd", "amount_usd") in fields["exposure_usd"]
