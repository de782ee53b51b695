"""C2 spans: statement and object line ranges are lines of the ORIGINAL file (BOM, CRLF, GO
batches, statements inside routine bodies and literal dynamic SQL), and parse errors carry the
true line and column."""

from __future__ import annotations

import pytest

from finlineage.lineage import LineageResult, extract

TSQL_PROC = """CREATE TABLE ledger.gl_balance (acct_no INT, bal_eur DECIMAL(18, 2));
GO
-- nightly balance load
CREATE PROCEDURE ledger.load_balance
AS
BEGIN
    SET NOCOUNT ON;

    SELECT j.acct_no,
           j.amount * fx.rate_eur AS amt_eur
    INTO #moves
    FROM ledger.journal j
    JOIN ref.fx_daily fx ON fx.ccy = j.ccy;

    UPDATE #moves SET amt_eur += 0.01 WHERE acct_no < 0;

    INSERT INTO ledger.gl_balance (acct_no, bal_eur)
    SELECT acct_no, SUM(amt_eur)
    FROM #moves
    GROUP BY acct_no;
END
GO
TRUNCATE TABLE ledger.staging_gl;
"""


def spans(result: LineageResult) -> list[tuple[str, int, int]]:
    return [(s.type, s.line_start, s.line_end) for s in result.statements]


EXPECTED = [
    ("create_table", 1, 1),
    ("insert", 9, 13),
    ("update", 15, 15),
    ("insert", 17, 20),
    ("truncate", 23, 23),
]


def _variants() -> list[tuple[str, bytes]]:
    lf = TSQL_PROC.encode()
    crlf = TSQL_PROC.replace("\n", "\r\n").encode()
    bom = b"\xef\xbb\xbf"
    return [("lf", lf), ("crlf", crlf), ("bom", bom + lf), ("bom+crlf", bom + crlf)]


@pytest.mark.parametrize(("label", "data"), _variants())
def test_statement_lines_are_lines_of_the_file(label: str, data: bytes) -> None:
    result = extract(data, "tsql")
    assert spans(result) == EXPECTED, label
    proc = next(o for o in result.objects if o.kind == "procedure")
    assert (proc.name, proc.line_start, proc.line_end) == ("ledger.load_balance", 4, 21)
    table = next(o for o in result.objects if o.kind == "table")
    assert (table.line_start, table.line_end) == (1, 1)
    assert not [d for s in result.statements for d in s.diagnostics if d.severity == "error"]


def test_bom_is_not_a_statement_as_str_either() -> None:
    result = extract("\ufeffSELECT acct_no INTO #x FROM ledger.journal;\nDROP TABLE #x;", "tsql")
    assert [s.type for s in result.statements] == ["select", "drop"] or [
        s.line_start for s in result.statements
    ] == [1, 2]
    assert all(s.sql.strip() and "\ufeff" not in s.sql for s in result.statements)
    assert result.statements[0].line_start == 1


def test_plpgsql_function_body_lines() -> None:
    sql = (
        "-- header\n"
        "CREATE OR REPLACE FUNCTION risk.refresh_limits() RETURNS void\n"
        "LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  DELETE FROM risk.limit_usage;\n"
        "  INSERT INTO risk.limit_usage (desk, used)\n"
        "  SELECT desk, SUM(notional)\n"
        "  FROM risk.open_trades GROUP BY desk;\n"
        "END;\n"
        "$$;\n"
    )
    result = extract(sql, "postgres")
    assert spans(result) == [("delete", 5, 5), ("insert", 6, 8)]
    fn = next(o for o in result.objects if o.kind == "function")
    assert (fn.line_start, fn.line_end) == (2, 10)


def test_oracle_package_body_and_slash_lines() -> None:
    sql = (
        "CREATE OR REPLACE PACKAGE BODY treasury.cash_pkg AS\n"
        "  PROCEDURE sweep IS\n"
        "  BEGIN\n"
        "    INSERT INTO treasury.cash_pos (acct, amt)\n"
        "    SELECT acct, SUM(amt) FROM treasury.cash_moves GROUP BY acct;\n"
        "  END sweep;\n"
        "END cash_pkg;\n"
        "/\n"
        "UPDATE treasury.cash_pos SET amt = 0 WHERE acct IS NULL;\n"
    )
    result = extract(sql, "oracle")
    assert spans(result) == [("insert", 4, 5), ("update", 9, 9)]
    assert result.statements[0].process == "treasury.cash_pkg.sweep"


def test_literal_dynamic_sql_lines_are_lines_of_the_file() -> None:
    sql = (
        "CREATE PROCEDURE ops.purge AS\n"
        "BEGIN\n"
        "  EXEC('DELETE FROM ops.audit_log\n"
        "        WHERE logged_at < ''2020-01-01''');\n"
        "END\n"
    )
    result = extract(sql, "tsql")
    assert spans(result) == [("delete", 3, 4)]


def test_parse_error_line_and_column_in_the_original_file() -> None:
    sql = (
        "\ufeffINSERT INTO ledger.gl_balance (acct_no, bal_eur)\r\n"
        "SELECT acct_no, bal FROM ledger.journal;\r\n"
        "GO\r\n"
        "CREATE PROCEDURE ledger.broken AS\r\n"
        "BEGIN\r\n"
        "    UPDATE ledger.gl_balance\r\n"
        "    SET bal_eur = bal_eur * 2 WHER acct_no = 1;\r\n"
        "    DELETE FROM ledger.staging_gl;\r\n"
        "END\r\n"
    )
    result = extract(sql, "tsql")
    errors = [d for s in result.statements for d in s.diagnostics if d.severity == "error"]
    assert len(errors) == 1
    err = errors[0]
    assert (err.code, err.line, err.column) == ("parse_error", 7, 31)
    assert "WHER" in err.message and "class" not in err.message
    # the other statements still have their facts
    assert ("delete", 8, 8) in spans(result)
    assert result.statements[0].target_tables == ("ledger.gl_balance",)


def test_parse_error_column_on_the_first_line_of_an_indented_statement() -> None:
    sql = "BEGIN\n  SELECT a FROM ledger.journal j k l;\nEND\n"
    result = extract(sql, "postgres")
    errors = [d for s in result.statements for d in s.diagnostics if d.code == "parse_error"]
    assert [(d.line, d.column) for d in errors] == [(2, 34)]


def test_compound_assignment_parses_and_keeps_the_prior_value() -> None:
    sql = (
        "UPDATE b SET b.bal_eur += m.amt_eur, fee_cnt *= 2\n"
        "FROM ledger.gl_balance b JOIN ledger.moves m ON m.acct_no = b.acct_no;\n"
        "DECLARE @total DECIMAL(18, 2) = 0;\n"
        "SET @total += (SELECT SUM(amt_eur) FROM ledger.moves);\n"
    )
    result = extract(sql, "tsql")
    assert not [d for s in result.statements for d in s.diagnostics if d.code == "parse_error"]
    upd = result.statements[0]
    direct = {e.target: set(e.sources) for e in upd.column_edges if e.kind == "direct"}
    assert direct["ledger.gl_balance.bal_eur"] == {"ledger.gl_balance.bal_eur", "ledger.moves.amt_eur"}
    assert direct["ledger.gl_balance.fee_cnt"] == {"ledger.gl_balance.fee_cnt"}
    assert "" not in {e.target.rsplit(".", 1)[-1] for e in upd.column_edges}
    assert [s.line_start for s in result.statements] == [1, 4]


def test_statements_sharing_one_segment_get_their_own_lines() -> None:
    from finlineage.lineage.engine import _statement_spans

    text = "SELECT 'a\nb' AS x;\n-- note\nSELECT\n  2;\nSELECT 3"
    assert _statement_spans(text, "tsql", 3, 10) == [(10, 11), (13, 14), (15, 15)]
    assert _statement_spans(text, "tsql", 2, 10) == []  # not that many: the segment's span is kept


@pytest.mark.parametrize("dialect", ["tsql", "postgres", "oracle", "snowflake", ""])
def test_a_missing_parenthesis_does_not_swallow_the_statements_after_it(dialect: str) -> None:
    sql = (
        "INSERT INTO ledger.t1 (x) SELECT x FROM ledger.s1;\n"
        "INSERT INTO ledger.t2 (x) SELECT COALESCE(x, 0 FROM ledger.s2;\n"
        "INSERT INTO ledger.t3 (x) SELECT x FROM ledger.s3;\n"
        "UPDATE ledger.t4 SET y = 1;\n"
    )
    res = extract(sql, dialect)
    assert [(s.line_start, s.line_end) for s in res.statements] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    errors = [(d.line, d.column) for s in res.statements for d in s.diagnostics if d.severity == "error"]
    assert len(errors) == 1 and errors[0][0] == 2
    assert res.statements[2].target_tables == ("ledger.t3",)
    assert res.statements[3].target_tables == ("ledger.t4",)
