"""`parse --batch` on procedures gives the statements one by one, as `parse` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from finlineage.cli.main import app
from finlineage.cli.parse_cmd import answer_request

runner = CliRunner()

PROCEDURES = {
    "postgres": """CREATE FUNCTION ops.nightly(p_day date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v_total numeric;
BEGIN
  SELECT SUM(p.amount) INTO v_total FROM ledger.postings p WHERE p.day = p_day;
  IF v_total > 0 THEN
    INSERT INTO ledger.daily (day, total) VALUES (p_day, v_total);
  ELSE
    DELETE FROM ledger.daily WHERE day = p_day;
  END IF;
  PERFORM ops.notify(p_day);
END $$;
""",
    "oracle": """CREATE OR REPLACE PROCEDURE ops.nightly(p_day DATE) IS
  v_total NUMBER;
BEGIN
  SELECT SUM(p.amount) INTO v_total FROM ledger.postings p WHERE p.day = p_day;
  MERGE INTO ledger.daily d USING (SELECT p_day AS day FROM dual) s ON (d.day = s.day)
  WHEN MATCHED THEN UPDATE SET d.total = v_total
  WHEN NOT MATCHED THEN INSERT (day, total) VALUES (s.day, v_total);
  ops.notify(p_day);
END;
/
""",
    "tsql": """CREATE PROCEDURE ops.nightly @day DATE AS
BEGIN
  DECLARE @total MONEY;
  SELECT @total = SUM(p.Amount) FROM ledger.Postings p WHERE p.Day = @day;
  UPDATE ledger.Daily SET Total = @total WHERE Day = @day;
  TRUNCATE TABLE ledger.Stage;
  EXEC ops.notify @day;
END
GO
""",
}


@pytest.mark.parametrize("dialect", sorted(PROCEDURES))
def test_batch_statements_are_the_parse_statements(dialect: str, tmp_path: Path) -> None:
    sql = PROCEDURES[dialect]
    path = tmp_path / "proc.sql"
    path.write_text(sql, encoding="utf-8")
    parsed = runner.invoke(app, ["parse", str(path), "--dialect", dialect])
    assert parsed.exit_code == 0, parsed.stderr
    statements = json.loads(parsed.stdout)["statements"]
    assert len(statements) >= 3  # a procedure is never merged into one statement
    batch = answer_request({"sql": sql, "dialect": dialect})["statements"]
    # the batch leads with the CREATE entry (the routine's reads and writes; `parse` lists the
    # routine among its objects), then gives exactly the statements `parse` gives
    head, *rest = batch
    assert head["type"].startswith("create_") and head["column_lineage"] == []

    def key(s: dict[str, object]) -> tuple[object, ...]:
        return (
            s["type"],
            s["line_start"],
            s["line_end"],
            s["process"],
            s["source_tables"],
            s["target_tables"],
        )

    assert [key(s) for s in rest] == [key(s) for s in statements]
    assert {s["process"] for s in rest} == {head["process"]}
