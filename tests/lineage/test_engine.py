"""`extract`: script order, line spans, objects, defaults, limits and diagnostics."""

from __future__ import annotations

import pytest

from finlineage.lineage import LineageResult, extract
from finlineage.lineage import engine as engine_mod

from .helpers import codes, direct


def test_statements_in_order_with_line_spans() -> None:
    sql = "SELECT 1;\n\nINSERT INTO a\nSELECT x\nFROM b;\n\nDROP TABLE b;\n"
    res = extract(sql, "postgres")
    assert [s.type for s in res.statements] == ["select", "insert", "drop"]
    assert [(s.line_start, s.line_end) for s in res.statements] == [(1, 1), (3, 5), (7, 7)]
    assert [s.index for s in res.statements] == [0, 1, 2]


def test_result_is_json_friendly() -> None:
    res = extract("INSERT INTO a SELECT x FROM b", "")
    d = res.to_dict()
    assert d["statements"][0]["column_edges"][0]["target"] == "a.x"


def test_default_db_and_schema_qualify_bare_names() -> None:
    res = extract(
        "INSERT INTO positions SELECT acct FROM ref.accounts", "", default_db="prod", default_schema="risk"
    )
    st = res.statements[0]
    assert st.target_tables == ("prod.risk.positions",)
    assert st.source_tables == ("prod.ref.accounts",)
    assert direct(st) == {"prod.risk.positions.acct": {"prod.ref.accounts.acct"}}


def test_user_schema_with_qualified_names_matches_bare_reference() -> None:
    schema = {"Risk.Positions": {"Acct": "int", "MV": "double"}}
    res = extract("INSERT INTO out_t SELECT * FROM positions", "postgres", schema=schema)
    assert direct(res.statements[0]) == {"out_t.acct": {"positions.acct"}, "out_t.mv": {"positions.mv"}}


def test_unknown_dialect_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        extract("SELECT 1", "cobol")


@pytest.mark.parametrize("alias,expected", [("sparksql", "spark"), ("ansi", ""), ("mssql", "tsql")])
def test_dialect_aliases(alias: str, expected: str) -> None:
    assert extract("SELECT 1", alias).dialect == expected


def test_auto_dialect_uses_detector() -> None:
    res = extract("SELECT TOP 5 trade_id FROM dbo.trades", "auto")
    assert isinstance(res, LineageResult)
    assert res.statements[0].source_tables == ("dbo.trades",)


def test_bytes_and_nul_input() -> None:
    res = extract(b"INSERT INTO a SELECT x FROM b\x00", "")
    assert res.statements[0].target_tables == ("a",)


def test_too_large_input_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "MAX_INPUT_CHARS", 100)
    res = extract("SELECT 1 " * 50, "")
    assert "too_large" in codes(res)
    assert res.statements == ()


def test_statement_too_large_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_mod, "MAX_STATEMENT_CHARS", 50)
    res = extract("INSERT INTO a SELECT x FROM b; SELECT " + "1 + " * 40 + "1;", "")
    assert res.statements[0].target_tables == ("a",)
    assert "too_large" in codes(res)


def test_timeout_is_a_diagnostic() -> None:
    unions = " UNION ALL ".join(f"SELECT c{i} FROM t{i}" for i in range(3000))
    res = extract(f"INSERT INTO big {unions}", "", statement_timeout=0.01)
    assert "timeout" in codes(res)


def test_deep_nesting_never_raises() -> None:
    sql = "SELECT " + "(" * 5000 + "1" + ")" * 5000
    res = extract(sql, "")
    assert res.statements


def test_bad_statement_does_not_spoil_others() -> None:
    res = extract("INSERT INTO a SELECT x FROM b; SELEC oops FROM; INSERT INTO c SELECT y FROM d;", "")
    assert [s.target_tables for s in res.statements if s.target_tables] == [("a",), ("c",)]
    assert "parse_error" in codes(res)


def test_dialect_fallback_parses_and_notes_it() -> None:
    res = extract("SELECT * FROM `db`.`trades`", "athena")
    assert res.statements[0].source_tables == ("db.trades",)
    assert "dialect_fallback" in codes(res)


def test_objects_defined_by_script() -> None:
    res = extract(
        "CREATE TABLE fx (ccy TEXT, rate NUMERIC);\nCREATE VIEW v_fx AS SELECT ccy FROM fx;\n"
        "CREATE FUNCTION f_one() RETURNS INT AS $$ SELECT 1 $$ LANGUAGE sql;",
        "postgres",
    )
    kinds = {(o.name, o.kind) for o in res.objects}
    assert {("fx", "table"), ("v_fx", "view")} <= kinds
    assert any(o.kind == "function" for o in res.objects)
    assert all(o.definition for o in res.objects)


def test_procedure_statements_keep_lineage() -> None:
    res = extract(
        "CREATE PROCEDURE load_pnl() AS BEGIN INSERT INTO pnl (desk) SELECT desk FROM trades; END",
        "tsql",
    )
    assert isinstance(res, LineageResult)
    assert res.statements  # never silently empty
