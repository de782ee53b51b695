"""T-SQL routine semantics: a schema-qualified scalar function call (`schema.fn(args)`, which
T-SQL requires for scalar UDFs) is a function call, not a column or struct field path."""

from __future__ import annotations

from finlineage.lineage import extract


def _edges(sql: str, dialect: str = "tsql") -> dict[str, tuple[frozenset[str], str, str]]:
    res = extract(sql, dialect)
    return {
        e.target: (frozenset(e.sources), e.subtype, e.formula or "")
        for e in res.rollup.column_edges
        if e.kind == "direct"
    }


def test_qualified_scalar_udf_call_is_a_transformation_keeping_the_call() -> None:
    edges = _edges(
        "CREATE PROCEDURE r.p AS\nBEGIN\n"
        "    INSERT INTO r.out_t (k, v)\n"
        "    SELECT s.k, fin.fn_scale(s.amt, 2.5) FROM src.facts AS s;\nEND\nGO\n"
    )
    assert edges["r.out_t.k"][1] == "IDENTITY"
    sources, subtype, formula = edges["r.out_t.v"]
    assert sources == {"src.facts.amt"}
    assert subtype == "TRANSFORMATION"
    assert "fin.fn_scale(" in formula and "src.facts.amt" in formula


def test_dbo_call_in_a_view_is_a_transformation_with_a_positional_name() -> None:
    res = extract("CREATE VIEW v1 AS SELECT dbo.f(x) AS y, dbo.g(x) FROM t1", "tsql")
    got = {e.target: e for e in res.rollup.column_edges if e.kind == "direct"}
    assert got["v1.y"].subtype == "TRANSFORMATION"
    assert "dbo.f(" in (got["v1.y"].formula or "")
    assert "v1.g" not in got  # an unaliased call is not named after the function
    assert got["v1._col_1"].sources == ("t1.x",)


def test_a_struct_field_path_stays_an_identity() -> None:
    res = extract("INSERT INTO out_t SELECT t.rec.amount AS amount FROM src_t AS t", "bigquery")
    (edge,) = [e for e in res.rollup.column_edges if e.kind == "direct"]
    assert edge.subtype == "IDENTITY"
