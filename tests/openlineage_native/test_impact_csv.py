"""format=csv on /impact/{id} and the column walks: object, kind, column, hop, path, file, line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient

from openlineage_native.conftest import LEDGER, ingest_dir, write_tree


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_impact_and_column_walks_as_csv(client: TestClient, roots: Path) -> None:
    tree = write_tree(roots / "ledger", LEDGER)
    pid = ingest_dir(client, tree, "ledger", "risk-db")["project_id"]
    r = client.get(f"/api/v1/lineage/impact/src.fills?project_id={pid}&format=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0] == "object,kind,column,hop,path,file,line"
    rows = {row["object"]: row for row in _rows(r.text)}
    assert rows["rpt.book_volume"]["hop"] == "1" and rows["rpt.book_volume"]["kind"] == "table"
    assert rows["rpt.book_volume"]["path"] == "src.fills > rpt.book_volume"
    assert rows["rpt.large_fills"]["kind"] == "view"
    assert (
        rows["rpt.large_fills"]["file"] == "mssql/v_large_fills.sql"
        and rows["rpt.large_fills"]["line"] == "1"
    )
    # JSON stays the default
    assert client.get(f"/api/v1/lineage/impact/src.fills?project_id={pid}").json()["total"] >= 2

    r = client.get(f"/api/v1/lineage/column/rpt.book_volume.gross_qty/upstream?project_id={pid}&format=csv")
    assert r.status_code == 200, r.text
    rows = {(row["object"], row["column"]): row for row in _rows(r.text)}
    qty = rows[("src.fills", "qty")]
    assert qty["hop"] == "1" and qty["path"] == "rpt.book_volume.gross_qty > src.fills.qty"
    assert client.get(f"/api/v1/lineage/impact/src.fills?project_id={pid}&format=xml").status_code == 422


def _formula_cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row if c[:1] in ("=", "+", "-", "@")]


def test_csv_cells_are_never_spreadsheet_formulas(client: TestClient, roots: Path) -> None:
    """Names and paths come from other people's code: a cell a spreadsheet would run as a formula
    (=, +, -, @ first) is written as text (a leading '), in the impact, walk and export CSVs."""
    files = {
        **LEDGER,
        "mssql/desk_view.sql": (
            "CREATE VIEW rpt.desk_totals AS\nSELECT qty AS [-net_qty], px * 2 AS [=px2] FROM src.fills;\nGO\n"
        ),
    }
    tree = write_tree(roots / "ledger", files)
    pid = ingest_dir(client, tree, "ledger", "risk-db")["project_id"]
    r = client.get(f"/api/v1/lineage/column/src.fills.qty/downstream?project_id={pid}&format=csv")
    cells = {row["column"] for row in _rows(r.text)}
    assert "'-net_qty" in cells and "-net_qty" not in cells
    r = client.get(f"/api/v1/lineage/column/src.fills.px/downstream?project_id={pid}&format=csv")
    assert "'=px2" in {row["column"] for row in _rows(r.text)}
    assert _formula_cells(r.text) == []
    r = client.get(f"/api/v1/lineage/impact/src.fills?project_id={pid}&format=csv")
    assert r.status_code == 200 and _formula_cells(r.text) == []
    r = client.get(f"/api/v1/export?project_id={pid}&format=csv&granularity=column")
    assert r.status_code == 200, r.text
    assert "rpt.desk_totals.-net_qty" in r.text and _formula_cells(r.text) == []
