"""`finlineage parse`: file/stdin mode, JSON and text output, the --batch JSON-lines protocol."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from finlineage.cli.main import app
from finlineage.cli.parse_cmd import answer_request, run_batch

runner = CliRunner()


def test_parse_file_json(tmp_path: Path) -> None:
    f = tmp_path / "load.sql"
    f.write_text("INSERT INTO pnl SELECT desk, pnl FROM trades;")
    result = runner.invoke(app, ["parse", str(f), "--dialect", "postgres"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["statements"][0]["target_tables"] == ["pnl"]


def test_parse_text_format_with_schema(tmp_path: Path) -> None:
    f = tmp_path / "load.sql"
    f.write_text("INSERT INTO pnl SELECT * FROM trades;")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"trades": {"desk": "text", "pnl": "numeric"}}))
    result = runner.invoke(app, ["parse", str(f), "--schema", str(schema), "--format", "text"])
    assert result.exit_code == 0, result.output
    assert "pnl.desk" in result.stdout
    assert "trades.desk" in result.stdout


def test_parse_stdin() -> None:
    result = runner.invoke(app, ["parse", "-"], input="SELECT a FROM b")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["statements"][0]["source_tables"] == ["b"]


def test_unknown_dialect_exit_2() -> None:
    result = runner.invoke(app, ["parse", "-", "--dialect", "cobol"], input="SELECT 1")
    assert result.exit_code == 2
    assert "unknown SQL dialect" in result.stderr


def test_unreadable_file_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["parse", str(tmp_path / "missing.sql")])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_batch_protocol_keeps_going_after_bad_lines() -> None:
    lines = [
        json.dumps({"sql": "INSERT INTO a SELECT x FROM b", "dialect": "ansi"}),
        "not json",
        json.dumps({"sql": "SELECT 1", "dialect": "klingon"}),
        json.dumps({"dialect": "ansi"}),
        "",
        json.dumps({"sql": "SELECT y FROM c", "dialect": "sparksql", "sqlglot_dialect": "spark"}),
    ]
    out = io.StringIO()
    run_batch(io.StringIO("\n".join(lines) + "\n"), out)
    answers = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(answers) == 5
    assert answers[0]["column_lineage"] == [{"target": "a.x", "sources": ["b.x"]}]
    assert answers[0]["statements"][0]["type"] == "insert"
    assert all("error" in a for a in answers[1:4])
    assert answers[4]["source_tables"] == ["c"]


def test_batch_answer_flat_and_statements() -> None:
    ans = answer_request(
        {
            "sql": "SELECT a INTO #t FROM src; INSERT INTO dst (a) SELECT a FROM #t;",
            "dialect": "tsql",
            "schema": None,
        }
    )
    assert ans["source_tables"] == ["src"]
    assert ans["target_tables"] == ["dst"]
    assert ans["column_lineage"] == [{"target": "dst.a", "sources": ["src.a"]}]
    assert [s["type"] for s in ans["statements"]] == ["insert", "insert"]


def test_batch_lateral_alias_option() -> None:
    req = {"sql": "INSERT INTO o SELECT a + b AS s, s * 2 AS d FROM t", "dialect": "ansi"}
    plain = {e["target"]: e["sources"] for e in answer_request(req)["column_lineage"]}
    assert plain["o.d"] == ["t.s"]
    req["lateral_alias"] = True
    lateral = {e["target"]: sorted(e["sources"]) for e in answer_request(req)["column_lineage"]}
    assert lateral["o.d"] == ["t.a", "t.b"]


def test_batch_subprocess_flushes_per_line() -> None:
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "finlineage"), "parse", "--batch"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"sql": "SELECT x FROM y", "dialect": "ansi"}) + "\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())  # answered before stdin closes
    assert first["source_tables"] == ["y"]
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


PROC = """CREATE PROCEDURE ledger.post_day @d DATE
AS
BEGIN
    INSERT INTO ledger.day_moves (acct_no, amt)
    SELECT acct_no, amount FROM ledger.journal WHERE posted_on = @d;

    UPDATE ledger.gl_balance SET bal += m.amt
    FROM ledger.gl_balance b JOIN ledger.day_moves m ON m.acct_no = b.acct_no;
    EXEC ledger.close_day @d;
END
"""


def test_batch_procedure_gives_its_statements_one_by_one() -> None:
    ans = answer_request({"sql": PROC, "dialect": "tsql"})
    rows = [(s["type"], s["line_start"], s["line_end"], s["process"]) for s in ans["statements"]]
    assert rows == [
        ("create_procedure", 1, 10, "ledger.post_day"),
        ("insert", 4, 5, "ledger.post_day"),
        ("update", 7, 8, "ledger.post_day"),
        ("call", 9, 9, "ledger.post_day"),
    ]
    routine, insert, update, call = ans["statements"]
    assert insert["target_tables"] == ["ledger.day_moves"]
    assert update["target_tables"] == ["ledger.gl_balance"]
    assert call["calls"] == ["ledger.close_day"]
    # the definition itself reads and writes what its body does
    assert set(routine["target_tables"]) == {"ledger.day_moves", "ledger.gl_balance"}
    assert routine["column_lineage"] == []


def test_parse_exits_1_on_a_parse_error_with_path_line_col(tmp_path: Path) -> None:
    f = tmp_path / "broken.sql"
    f.write_bytes(
        b"\xef\xbb\xbfINSERT INTO ledger.day_moves (acct_no) SELECT acct_no FROM ledger.journal;\r\n"
        b"UPDATE ledger.gl_balance\r\n   SET bal = bal * 2 WHER acct_no = 1;\r\n"
        b"DELETE FROM ledger.staging;\r\n"
    )
    result = runner.invoke(app, ["parse", str(f), "--dialect", "tsql"])
    assert result.exit_code == 1
    assert f"{f}:3:22: syntax error" in result.stderr
    data = json.loads(result.stdout)  # the facts of the other statements are still printed
    assert data["statements"][0]["type"] == "insert"
    assert any(s["type"] == "delete" and s["line_start"] == 4 for s in data["statements"])
    allowed = runner.invoke(app, ["parse", str(f), "--dialect", "tsql", "--allow-errors"])
    assert allowed.exit_code == 0
    assert f"{f}:3:22:" in allowed.stderr


def test_parse_of_a_clean_file_prints_no_error_lines(tmp_path: Path) -> None:
    f = tmp_path / "ok.sql"
    f.write_text(PROC)
    result = runner.invoke(app, ["parse", str(f), "--dialect", "tsql", "--format", "text"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_batch_column_inputs_include_window_spec_but_not_row_filters() -> None:
    """A window's PARTITION BY/ORDER BY columns are inputs of the windowed column (INDIRECT
    WINDOW); a filter on that window's alias in an outer query shapes rows, not the other columns."""
    sql = (
        "INSERT INTO rpt.latest_rate SELECT ccy, rate FROM ("
        " SELECT ccy, rate, ROW_NUMBER() OVER (PARTITION BY ccy ORDER BY as_of DESC) AS rk"
        " FROM mkt.fx_rate) r WHERE rk = 1"
    )
    ans = answer_request({"sql": sql, "dialect": "ansi"})
    lineage = {c["target"]: sorted(c["sources"]) for c in ans["column_lineage"]}
    assert lineage == {
        "rpt.latest_rate.ccy": ["mkt.fx_rate.ccy"],
        "rpt.latest_rate.rate": ["mkt.fx_rate.rate"],
    }
    ranked = answer_request(
        {
            "sql": "INSERT INTO rpt.ranked SELECT RANK() OVER (PARTITION BY desk ORDER BY pnl) AS rk FROM trd.pnl",
            "dialect": "ansi",
        }
    )
    assert ranked["column_lineage"] == [
        {"target": "rpt.ranked.rk", "sources": ["trd.pnl.desk", "trd.pnl.pnl"]}
    ]
