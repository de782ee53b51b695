"""Graph reads over the seeded bank graph, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from finlineage.query import catalog, lineage
from finlineage.query.errors import AmbiguousNameError, InvalidQueryError, NotFoundError
from finlineage.query.schemas import MAX_DEPTH
from finlineage.store.graph import ALL_STATUSES
from query.seed import BankGraph


def _names(graph: lineage.GraphOut) -> dict[str, int]:
    return {n.canonical_id: n.hop for n in graph.nodes}


def test_resolve_by_id_name_case_and_suffix(qs: Session, bank: BankGraph) -> None:
    stg = bank.objects["stg.trades"]
    assert catalog.resolve_object(qs, str(stg)).id == stg
    assert catalog.resolve_object(qs, "stg.trades", project_id=bank.project_id).id == stg
    # exact-case match wins over the other project's STG.TRADES
    assert catalog.resolve_object(qs, "stg.trades").id == stg
    assert catalog.resolve_object(qs, "STG.TRADES").id == bank.other_objects["STG.TRADES"]
    assert catalog.resolve_object(qs, "DW.Exposure").id == bank.objects["dw.exposure"]
    assert catalog.resolve_object(qs, "daily_risk").id == bank.objects["rpt.daily_risk"]


def test_resolve_ambiguous_and_unknown(qs: Session, bank: BankGraph) -> None:
    with pytest.raises(AmbiguousNameError) as exc:
        catalog.resolve_object(qs, "Stg.Trades")
    cands = exc.value.details["candidates"]
    assert {c["project_id"] for c in cands} == {bank.project_id, bank.other_project_id}
    with pytest.raises(AmbiguousNameError):
        catalog.resolve_object(qs, "trades")  # raw.trades, stg.trades, STG.TRADES
    assert (
        catalog.resolve_object(qs, "Stg.Trades", project_id=bank.other_project_id).id
        == (bank.other_objects["STG.TRADES"])
    )
    with pytest.raises(NotFoundError):
        catalog.resolve_object(qs, "no.such_table")
    with pytest.raises(NotFoundError):
        catalog.resolve_object(qs, "999999")
    with pytest.raises(NotFoundError):
        catalog.resolve_object(qs, str(bank.objects["stg.trades"]), project_id=bank.other_project_id)
    with pytest.raises(InvalidQueryError):
        catalog.resolve_column(qs, "nodots")


def test_table_upstream_with_hops_and_provenance(qs: Session, bank: BankGraph) -> None:
    g = lineage.node_lineage(qs, "rpt.daily_risk", "upstream", depth=3, project_id=bank.project_id)
    assert g.root is not None and g.root.canonical_id == "rpt.daily_risk" and g.root.hop == 0
    assert _names(g) == {
        "rpt.daily_risk": 0,
        "dw.exposure": 1,
        "stg.trades": 2,
        "ref.calendar": 2,
        "raw.trades": 3,
        "raw.fx_rates": 3,  # via stg.trades; the direct rejected llm edge is not lineage
    }
    edges = {(e.source_canonical_id, e.target_canonical_id): e for e in g.edges}
    assert ("raw.fx_rates", "rpt.daily_risk") not in edges
    load = edges[("stg.trades", "dw.exposure")]
    assert load.process == "dw.load_exposure"
    assert load.file == "dw/load_exposure.sql" and (load.line_start, load.line_end) == (3, 4)
    assert edges[("ref.calendar", "dw.exposure")].kind == "indirect"
    node = {n.canonical_id: n for n in g.nodes}
    assert node["stg.trades"].file == "stg/trades.sql" and node["stg.trades"].kind == "view"
    assert node["ref.calendar"].kind == "external" and node["ref.calendar"].file is None
    # depth bounds the walk
    shallow = lineage.node_lineage(qs, "rpt.daily_risk", "upstream", depth=1)
    assert _names(shallow) == {"rpt.daily_risk": 0, "dw.exposure": 1}
    assert len(shallow.edges) == 1


def test_rejected_edges_on_request(qs: Session, bank: BankGraph) -> None:
    g = lineage.node_lineage(qs, "rpt.daily_risk", "upstream", depth=1, statuses=ALL_STATUSES)
    assert _names(g)["raw.fx_rates"] == 1
    # None is the default everywhere (observed + approved), never "every status"
    g = lineage.node_lineage(qs, "rpt.daily_risk", "upstream", depth=1, statuses=None)
    assert "raw.fx_rates" not in _names(g)


def test_table_downstream_and_column_granularity(qs: Session, bank: BankGraph) -> None:
    g = lineage.node_lineage(qs, "raw.fx_rates", "downstream", depth=10)
    assert _names(g) == {"raw.fx_rates": 0, "stg.trades": 1, "dw.exposure": 2, "rpt.daily_risk": 3}
    cg = lineage.node_lineage(qs, "raw.fx_rates", "downstream", depth=10, granularity="column")
    assert cg.granularity == "column" and cg.root is not None and cg.root.canonical_id == "raw.fx_rates"
    assert {r.canonical_id for r in cg.roots} == {
        "raw.fx_rates.ccy",
        "raw.fx_rates.rate",
        "raw.fx_rates.rate_date",
    }
    hops = _names(cg)
    assert hops["stg.trades.amount_usd"] == 1
    assert hops["rpt.daily_risk.total_exposure"] == 3
    assert all(n.kind == "column" for n in cg.nodes)


def test_column_upstream_transitive_with_expressions(qs: Session, bank: BankGraph) -> None:
    # the column walk's default kinds (data flow): the join key is not upstream ...
    g = lineage.column_lineage(qs, "rpt.daily_risk.total_exposure", "upstream", depth=10)
    assert "raw.fx_rates.ccy" not in _names(g) and {e.kind for e in g.edges} == {"direct"}
    # ... every kind when asked
    g = lineage.column_lineage(
        qs, "rpt.daily_risk.total_exposure", "upstream", depth=10, kinds=lineage.ALL_KINDS
    )
    assert g.root is not None and g.root.canonical_id == "rpt.daily_risk.total_exposure"
    assert _names(g) == {
        "rpt.daily_risk.total_exposure": 0,
        "dw.exposure.exposure_usd": 1,
        "stg.trades.amount_usd": 2,
        "raw.trades.amount": 3,
        "raw.fx_rates.rate": 3,
        "raw.fx_rates.ccy": 3,
    }
    by_pair = {(e.source_canonical_id, e.target_canonical_id): e for e in g.edges}
    e = by_pair[("raw.trades.amount", "stg.trades.amount_usd")]
    assert e.expression == "t.amount * fx.rate" and e.file == "stg/trades.sql" and e.line_start == 2
    assert by_pair[("stg.trades.amount_usd", "dw.exposure.exposure_usd")].process == "dw.load_exposure"
    assert by_pair[("raw.fx_rates.ccy", "stg.trades.amount_usd")].kind == "indirect"
    # by id and case-insensitively
    col = bank.columns["stg.trades.amount_usd"]
    assert lineage.column_lineage(qs, str(col), "downstream").root.canonical_id == "stg.trades.amount_usd"  # type: ignore[union-attr]
    assert _names(
        lineage.column_lineage(
            qs,
            "STG.trades.AMOUNT_USD",
            "upstream",
            depth=1,
            project_id=bank.project_id,
            kinds=lineage.ALL_KINDS,
        )
    ) == {
        "stg.trades.amount_usd": 0,
        "raw.trades.amount": 1,
        "raw.fx_rates.rate": 1,
        "raw.fx_rates.ccy": 1,
    }
    with pytest.raises(NotFoundError):
        lineage.column_lineage(qs, "stg.trades.nope", "upstream")


def test_cycles_terminate(qs: Session, bank: BankGraph) -> None:
    g = lineage.node_lineage(qs, "a.x", "downstream", depth=50, project_id=bank.other_project_id)
    assert _names(g) == {"a.x": 0, "a.y": 1}
    assert len(g.edges) == 2
    cg = lineage.column_lineage(qs, "a.x.v", "upstream", depth=50)
    assert _names(cg) == {"a.x.v": 0, "a.y.v": 1}


def test_depth_validation(qs: Session, bank: BankGraph) -> None:
    for bad in (-1, MAX_DEPTH + 1):
        with pytest.raises(InvalidQueryError):
            lineage.node_lineage(qs, "stg.trades", "upstream", depth=bad)


def test_path(qs: Session, bank: BankGraph) -> None:
    p = lineage.find_path(qs, "raw.trades", "rpt.daily_risk")
    assert p.found and p.hops == 3
    assert [n.canonical_id for n in p.nodes] == ["raw.trades", "stg.trades", "dw.exposure", "rpt.daily_risk"]
    assert [e.target_canonical_id for e in p.edges] == ["stg.trades", "dw.exposure", "rpt.daily_risk"]
    back = lineage.find_path(qs, "rpt.daily_risk", "raw.trades")
    assert not back.found and back.nodes == [] and back.hops is None
    cp = lineage.find_path(qs, "raw.fx_rates.rate", "rpt.daily_risk.total_exposure", granularity="column")
    assert cp.found and cp.hops == 3 and cp.edges[0].expression == "t.amount * fx.rate"
    # ends in different projects never connect
    assert not lineage.find_path(qs, str(bank.objects["raw.trades"]), str(bank.other_objects["a.x"])).found
    same = lineage.find_path(qs, "raw.trades", "raw.trades")
    assert same.found and same.hops == 0


def test_impact_grouped_by_kind_and_hop(qs: Session, bank: BankGraph) -> None:
    imp = lineage.impact(qs, "raw.trades")
    assert imp.total == 3
    assert imp.by_kind == {"table": 1, "view": 2}
    assert imp.by_hop == {1: 1, 2: 1, 3: 1}
    assert [(g.hop, g.kind, [n.canonical_id for n in g.nodes]) for g in imp.groups] == [
        (1, "view", ["stg.trades"]),
        (2, "table", ["dw.exposure"]),
        (3, "view", ["rpt.daily_risk"]),
    ]
    assert lineage.impact(qs, "rpt.daily_risk").total == 0


def test_node_detail(qs: Session, bank: BankGraph) -> None:
    d = catalog.node_detail(qs, "stg.trades", project_id=bank.project_id)
    assert d.kind == "view" and d.definition is not None and d.definition.startswith("CREATE VIEW")
    assert d.file is not None and d.file.path == "stg/trades.sql" and (d.line_start, d.line_end) == (1, 3)
    assert [c.name for c in d.columns] == ["trade_id", "amount_usd", "trade_date"]
    assert {n.canonical_id for n in d.reads} == {"raw.trades", "raw.fx_rates"}
    assert {n.canonical_id for n in d.writes} == {"dw.exposure"}
    assert d.diagnostics[0]["code"] == "star_without_schema"
    proc = catalog.node_detail(qs, "dw.load_exposure")
    assert {(n.canonical_id, n.via) for n in proc.reads} == {
        ("stg.trades", "process"),
        ("ref.calendar", "process"),
    }
    assert {(n.canonical_id, n.via) for n in proc.writes} == {("dw.exposure", "process")}
