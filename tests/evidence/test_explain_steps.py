"""`/explain` steps: every statement of the chain carries its own normalised expression, with
its original text and true lines, and `as_of` answers from an older graph version. A corpus of
our own: a T-SQL procedure staging a temp table, aggregating it into a table, then `+=`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conftest import Client, upload

PROC = "fin/usp_desk_pnl.sql"
DDL = b"""CREATE TABLE fin.trades (trade_id INT, qty DECIMAL(18,4), px DECIMAL(18,6), desk VARCHAR(10));
CREATE TABLE fin.desk_pnl (desk VARCHAR(10), gross DECIMAL(18,2), fees DECIMAL(18,2));
"""
BODY = """CREATE PROCEDURE fin.usp_desk_pnl
AS
BEGIN
    -- stage: notional per leg
    SELECT t.desk,
           t.qty * t.px AS notional
    INTO #legs
    FROM fin.trades t;

    INSERT INTO fin.desk_pnl (desk, gross)
    SELECT l.desk, SUM(l.notional)
    FROM #legs l
    GROUP BY l.desk;

    UPDATE fin.desk_pnl SET gross += {extra};
END
"""


def _files(extra: str = "fees") -> list[tuple[str, bytes]]:
    return [("fin/ddl.sql", DDL), (PROC, BODY.format(extra=extra).encode())]


def _explain(client: Client, ref: str, **params: Any) -> dict[str, Any]:
    res = client.get(f"/api/v1/lineage/column/{ref}/explain", params={"project_id": 1, **params})
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def test_every_step_carries_its_expression_and_evidence(make_client: Callable[..., Client]) -> None:
    client = make_client()
    body = upload(client, _files(), project="desks")
    assert body["files_failed"] == 0
    ex = _explain(client, "fin.desk_pnl.gross")
    assert ex["formula"] == "SUM(fin.trades.qty * fin.trades.px) + fin.desk_pnl.fees"
    lines = BODY.format(extra="fees").split("\n")
    steps = ex["steps"]
    assert [(s["line_start"], s["line_end"]) for s in steps] == [(5, 8), (10, 13), (15, 15)]
    for s in steps:
        assert s["expression"], s
        assert s["kind"] and s["file"] == PROC and isinstance(s["file_id"], int)
        assert s["source_text"] == "\n".join(lines[s["line_start"] - 1 : s["line_end"]])
    # what each statement computes for what the next one reads, in the statement's own terms
    assert steps[0]["target"] == "#legs"
    assert steps[0]["expression"] == "notional = fin.trades.qty * fin.trades.px"
    assert steps[1]["expression"] == "gross = SUM(#legs.notional)"
    assert steps[2]["target"] == "fin.desk_pnl.gross"
    assert steps[2]["expression"] == "fin.desk_pnl.gross + fin.desk_pnl.fees"


def test_explain_as_of_an_older_version(make_client: Callable[..., Client]) -> None:
    client = make_client()
    upload(client, _files(), project="desks")
    upload(client, _files(extra="desk_fee_adj"), project="desks")
    now = _explain(client, "fin.desk_pnl.gross")
    then = _explain(client, "fin.desk_pnl.gross", as_of=1)
    assert then["formula"] == "SUM(fin.trades.qty * fin.trades.px) + fin.desk_pnl.fees"
    assert now["formula"] == "SUM(fin.trades.qty * fin.trades.px) + fin.desk_pnl.desk_fee_adj"
    assert then["steps"][-1]["expression"] == "fin.desk_pnl.gross + fin.desk_pnl.fees"
    assert now["steps"][-1]["expression"] == "fin.desk_pnl.gross + fin.desk_pnl.desk_fee_adj"
    missing = client.get(
        "/api/v1/lineage/column/fin.desk_pnl.gross/explain", params={"project_id": 1, "as_of": 9}
    )
    assert missing.status_code == 404
