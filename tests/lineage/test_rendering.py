"""Printing expressions without copying them: same text, tree left as it was."""

from __future__ import annotations

import sqlglot

from finlineage.lineage import extract
from finlineage.lineage.names import sql_text


def test_sql_text_matches_the_copying_generator_and_leaves_the_tree_alone() -> None:
    cases = [
        ("tsql", "SELECT CASE WHEN flag THEN amt * 2 ELSE 0 END AS v FROM ledger.entries"),
        ("tsql", "SELECT (SELECT MAX(x) FROM (SELECT x FROM d.t) AS q) AS m FROM d.u"),
        ("spark", "SELECT IF(a > 1 AND b, a, NULL) AS v, ARRAY(a, b) AS arr FROM s.t"),
        ("postgres", "SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY px) AS med FROM q.trades"),
    ]
    for dialect, sql in cases:
        tree = sqlglot.parse_one(sql, dialect=dialect)
        before = repr(tree)
        for node in tree.selects:
            assert sql_text(node, dialect) == node.sql(dialect=dialect)
        assert repr(tree) == before, (dialect, sql)


def test_an_objects_definition_is_its_statements_original_text() -> None:
    sql = "create   view rpt.v_pos as\n  select  p.qty  *  p.px as notional -- keep\n  from core.pos p;\n"
    res = extract(sql, "postgres")
    (view,) = [o for o in res.objects if o.name == "rpt.v_pos"]
    assert "notional -- keep" in view.definition
    assert view.definition.startswith("create   view rpt.v_pos")
