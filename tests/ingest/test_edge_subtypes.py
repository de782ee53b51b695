"""Every stored column edge carries an OpenLineage subtype (C1), whatever statement made it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from finlineage.lineage import extract

from .conftest import Graph, upload

TSQL = b"""CREATE TABLE fin.trades (trade_id INT, desk VARCHAR(10), qty DECIMAL(18,4), px DECIMAL(18,6), side CHAR(1));
CREATE TABLE fin.desk_pnl (desk VARCHAR(10), gross DECIMAL(18,2), fees DECIMAL(18,2), rnk INT);
GO
CREATE PROCEDURE fin.usp_fill
AS
BEGIN
    SELECT t.desk, CASE WHEN t.side = 'S' THEN -t.qty * t.px ELSE t.qty * t.px END AS notional
    INTO #legs
    FROM fin.trades t WITH (NOLOCK)
    WHERE t.qty > 0;

    MERGE fin.desk_pnl AS tgt
    USING (SELECT l.desk, SUM(l.notional) AS gross FROM #legs l GROUP BY l.desk) AS src
    ON tgt.desk = src.desk
    WHEN MATCHED THEN UPDATE SET tgt.gross = src.gross
    WHEN NOT MATCHED THEN INSERT (desk, gross) VALUES (src.desk, src.gross);

    UPDATE fin.desk_pnl SET gross += fees;
    UPDATE p SET p.rnk = r.rnk
    FROM fin.desk_pnl p
    JOIN (SELECT desk, RANK() OVER (ORDER BY gross DESC) AS rnk FROM fin.desk_pnl) r ON r.desk = p.desk;

    CREATE TABLE #feed (desk VARCHAR(10), gross DECIMAL(18,2));
    INSERT INTO #feed (desk, gross) EXEC fin.usp_other;
    INSERT INTO fin.desk_pnl (desk, fees) SELECT f.desk, f.gross FROM #feed f;
END
"""
PG = b"""CREATE VIEW rpt.desk_view AS
SELECT d.desk, d.gross, COALESCE(d.fees, 0) AS fees, d.rnk
FROM fin.desk_pnl d
ORDER BY d.desk;
"""


def test_no_stored_column_edge_lacks_a_subtype(client: TestClient, graph: Graph) -> None:
    res = upload(client, [("tsql/fill.sql", TSQL)], dialect="tsql").json()
    assert res["files_failed"] == 0, res
    res = upload(client, [("pg/view.sql", PG)], dialect="postgres").json()
    assert res["files_failed"] == 0, res
    rows = graph.rows("SELECT kind, subtype FROM column_edges")
    assert len(rows) >= 10
    assert [r for r in rows if not r[1]] == []
    subtypes = {r[1] for r in rows}
    assert {"IDENTITY", "TRANSFORMATION", "AGGREGATION"} <= subtypes
    assert subtypes & {"FILTER", "JOIN", "GROUP_BY", "CONDITIONAL", "WINDOW", "SORT"}


def test_insert_exec_column_edges_carry_a_subtype() -> None:
    sql = "CREATE PROCEDURE p AS\nBEGIN\n    INSERT INTO #r (a, b) EXEC dbo.usp_src;\nEND\n"
    result = extract(sql, "tsql")
    edges = [e for st in result.statements for e in st.column_edges]
    assert {e.target for e in edges} == {"#r.a", "#r.b"}
    assert all(e.subtype == "TRANSFORMATION" for e in edges)
