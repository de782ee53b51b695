from __future__ import annotations

from finlineage.lineage.model import ColumnDef
from finlineage.store import repositories as repo
from finlineage.store import search

from .helpers import make_project


def _seed(session):
    pid = make_project(session)
    other = make_project(session, "other")
    repo.ensure_objects(
        session,
        pid,
        [
            repo.ObjectSpec(
                "dw.dbo.fact_trades",
                "table",
                "CREATE TABLE dbo.fact_trades (trade_id int, notional decimal)",
                columns=(ColumnDef("trade_id", 1), ColumnDef("notional", 2)),
            ),
            repo.ObjectSpec(
                "dw.dbo.v_positions",
                "view",
                "CREATE VIEW dbo.v_positions AS SELECT book, SUM(notional) FROM dbo.fact_trades GROUP BY book",
                columns=(ColumnDef("book", 1), ColumnDef("total_notional", 2)),
            ),
            repo.ObjectSpec("dw.ref.counterparty"),
        ],
    )
    repo.ensure_objects(session, other, [repo.ObjectSpec("dw.dbo.fact_trades", "table")])
    session.flush()
    return pid


def _ids(hits):
    return [h.canonical_id for h in hits]


def test_full_text_name_prefix_and_tokens(session):
    pid = _seed(session)
    hits = search.search_objects(session, pid, "fact_trades")
    assert _ids(hits)[0] == "dw.dbo.fact_trades" and hits[0].match == "fts"
    assert all(h.canonical_id != "x" for h in hits)
    assert _ids(search.search_objects(session, pid, "trad"))[0] == "dw.dbo.fact_trades"
    assert "dw.dbo.v_positions" in _ids(search.search_objects(session, pid, "positions"))
    assert _ids(search.search_objects(session, pid, "counterparty")) == ["dw.ref.counterparty"]


def test_columns_and_definition_are_searchable(session):
    pid = _seed(session)
    assert "dw.dbo.v_positions" in _ids(search.search_objects(session, pid, "total_notional"))
    # definition text: the view's SQL mentions fact_trades; the table itself ranks first
    both = _ids(search.search_objects(session, pid, "fact_trades"))
    assert both[:2] == ["dw.dbo.fact_trades", "dw.dbo.v_positions"]
    only_views = search.search_objects(session, pid, "fact_trades", kinds=["view"])
    assert _ids(only_views) == ["dw.dbo.v_positions"]


def test_scoped_to_project_and_empty(session):
    pid = _seed(session)
    assert (
        len(
            [
                h
                for h in search.search_objects(session, pid, "fact_trades")
                if h.canonical_id == "dw.dbo.fact_trades"
            ]
        )
        == 1
    )
    assert search.search_objects(session, pid, "  ") == []
    assert search.search_objects(session, pid, "zzzqqq") == []
    assert search.search_objects(session, pid, 'fact" *') != []  # operators are neutralised


def test_search_updates_after_adoption_and_deletion(session):
    pid = _seed(session)
    repo.upsert_object(session, pid, "dw.ref.counterparty", kind="table", definition="CREATE TABLE lei_codes")
    assert _ids(search.search_objects(session, pid, "lei_codes")) == ["dw.ref.counterparty"]
    obj = repo.get_object_by_canonical(session, pid, "dw.ref.counterparty")
    repo.delete_object(session, obj.id)
    assert search.search_objects(session, pid, "counterparty") == []


def test_fuzzy_or_substring_fallback(session, backend):
    pid = _seed(session)
    hits = search.search_objects(session, pid, "ct_trad")  # infix: not a token prefix
    assert "dw.dbo.fact_trades" in _ids(hits)
    if backend == "postgres":
        typo = search.search_objects(session, pid, "fact_trdaes")
        assert "dw.dbo.fact_trades" in _ids(typo)
        assert typo[0].match == "fuzzy"


def test_search_columns(session):
    pid = _seed(session)
    hits = search.search_columns(session, pid, "notional")
    assert next((h.canonical_id, h.column_name) for h in hits) == ("dw.dbo.fact_trades", "notional")
    assert {h.column_name for h in hits} == {"notional", "total_notional"}
