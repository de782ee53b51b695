"""#17 acceptance, impact CSV: what a spreadsheet user downloads from /impact/{id} and the column
walks parses with the csv module — header, one row per reached node matching the JSON answer,
names and file paths with commas, quotes and newlines quoted, truncation said in the file."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from openlineage_native.acceptance_bank import BANK, Bank, start_bank
from openlineage_native.conftest import write_tree

HEADER = ["object", "kind", "column", "hop", "path", "file", "line"]
AWKWARD = {
    # a table and columns whose bracketed names hold a comma and a double quote, in a folder
    # and file whose names hold a comma and a space
    "core/core, legacy/branch totals.sql": (
        'CREATE TABLE rpt.[balances, by branch] (branch_code CHAR(4), [closing, eod] DECIMAL(19,4), [say "hi"] INT);\n'
        "GO\n"
        "CREATE PROCEDURE rpt.usp_branch_totals AS\n"
        "BEGIN\n"
        '    INSERT INTO rpt.[balances, by branch] (branch_code, [closing, eod], [say "hi"])\n'
        "    SELECT branch_code, SUM(closing_balance), COUNT(*) FROM rpt.daily_balances GROUP BY branch_code;\n"
        "END\n"
        "GO\n"
    ),
    # a file name with a newline in it
    "core/ops/month\nend.sql": "\n\nCREATE VIEW rpt.v_month_end AS SELECT account_id FROM core.accounts;\nGO\n",
}


def _bank(make_server: Any, database_url: str, roots: Path, **overrides: Any) -> tuple[Bank, int]:
    files = {k: v for k, v in BANK.items() if k.startswith("core/") or k == "finlineage.toml"}
    bank = start_bank(make_server, database_url, **overrides)
    res = bank.ingest(write_tree(roots / "bank", {**files, **AWKWARD}), "bank", "core-bank")
    return bank, int(res["project_id"])


def _csv(bank: Bank, url: str, **params: Any) -> tuple[list[str], list[dict[str, str]]]:
    with bank.http("viewer") as h:
        r = h.get(url, params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == "text/csv"
    reader = csv.reader(io.StringIO(r.text, newline=""))
    header = next(reader)
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def _json(bank: Bank, url: str, **params: Any) -> dict[str, Any]:
    with bank.http("viewer") as h:
        r = h.get(url, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_impact_csv_rows_match_the_json_and_quote_awkward_names(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    url = "/api/v1/lineage/impact/core.accounts"
    header, rows = _csv(bank, url, project_id=pid)
    assert header == HEADER
    answer = _json(bank, url, project_id=pid)
    expected = {(n["canonical_id"], n["kind"], str(n["hop"])) for g in answer["groups"] for n in g["nodes"]}
    assert {(r["object"], r["kind"], r["hop"]) for r in rows} == expected
    assert len(rows) == answer["total"] == 4
    by = {r["object"]: r for r in rows}
    far = by["rpt.balances, by branch"]  # the comma survives as one field
    assert far["hop"] == "2" and far["kind"] == "table"
    assert far["path"] == "core.accounts > rpt.daily_balances > rpt.balances, by branch"
    assert far["file"] == "core/core, legacy/branch totals.sql" and far["line"] == "1"
    month_end = by["rpt.v_month_end"]
    assert month_end["file"] == "core/ops/month\nend.sql" and month_end["line"] == "3"  # true line
    assert month_end["kind"] == "view" and month_end["path"] == "core.accounts > rpt.v_month_end"


def test_column_walk_csv_in_both_directions(make_server: Any, database_url: str, roots: Path) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    header, rows = _csv(bank, "/api/v1/lineage/column/core.ledger_entries.amount/downstream", project_id=pid)
    assert header == HEADER
    by = {(r["object"], r["column"]): r for r in rows}
    assert set(by) == {("rpt.daily_balances", "closing_balance"), ("rpt.balances, by branch", "closing, eod")}
    far = by[("rpt.balances, by branch", "closing, eod")]
    assert far["hop"] == "2" and far["path"] == (
        "core.ledger_entries.amount > rpt.daily_balances.closing_balance > rpt.balances, by branch.closing, eod"
    )
    # upstream of the quoted column, matching the JSON walk's nodes
    ref = 'rpt.balances, by branch.say "hi"'
    answer = _json(bank, f"/api/v1/lineage/column/{ref}/upstream", project_id=pid)
    _, up = _csv(bank, f"/api/v1/lineage/column/{ref}/upstream", project_id=pid)
    root = answer["root"]["id"]
    assert {(r["object"], r["column"], r["hop"]) for r in up} == {
        (n["object_canonical_id"], n["name"], str(n["hop"])) for n in answer["nodes"] if n["id"] != root
    }
    assert up, "the COUNT(*) column has upstream columns (its GROUP BY / source)"


def test_a_truncated_walk_says_so_in_the_csv(make_server: Any, database_url: str, roots: Path) -> None:
    bank, pid = _bank(make_server, database_url, roots, walk_node_cap=2)
    answer = _json(bank, "/api/v1/lineage/impact/core.accounts", project_id=pid)
    assert answer["truncated"] is True and answer["omitted"] > 0
    header, rows = _csv(bank, "/api/v1/lineage/impact/core.accounts", project_id=pid)
    assert header == HEADER
    assert rows[-1]["object"].startswith("# truncated") and str(answer["omitted"]) in rows[-1]["object"]
    assert len(rows) - 1 < 4
