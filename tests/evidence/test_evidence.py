"""Issue 12 on our own bank-warehouse corpus: original text with true lines on edges and steps,
composed formulas (temporary table + MERGE + compound assignment), complete walks and explicit
truncation, honest failures (API, run log, CLI exit code), snapshot re-ingest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evidence.conftest import CORPUS, Client, corpus_files, file_lines, original, upload

PROC = "tsql/usp_value_books.sql"
BROKEN = "tsql/broken_load.sql"
Bank = tuple[Client, dict[str, Any]]


def _get(client: Client, url: str, **params: Any) -> Any:
    res = client.get(url, params=params)
    assert res.status_code == 200, res.text
    return res.json()


# --------------------------------------------------------------------------------------
# 1 + 2: original text, true lines, composed formulas
# --------------------------------------------------------------------------------------


def test_edges_through_temp_table_and_merge_carry_the_original_lines(bank: Bank) -> None:
    client, _ = bank
    g = _get(client, "/api/v1/lineage/column/solvency.book_value.value_eur/upstream")
    assert g["truncated"] is False and g["omitted"] == 0 and g["depth"] is None
    merged = [e for e in g["edges"] if e["file"] == PROC]
    assert {e["source_canonical_id"] for e in merged} == {
        "ledger.holdings.units",
        "ledger.quotes.quote_px",
        "ledger.fx_spot.eur_rate",
    }
    for e in merged:
        # the MERGE is lines 13-19 of the file (line 1 is a comment; BOM and CRLF do not shift them)
        assert (e["line_start"], e["line_end"]) == (13, 19)
        assert e["source_text"] == original(PROC, 13, 19)
        assert e["source_text"].startswith("    MERGE solvency.book_value AS tgt")
        assert "WHEN NOT MATCHED THEN INSERT" in e["source_text"]
        assert e["subtype"] == "AGGREGATION" and e["steps"] == [0, 1]
        # the temporary table is substituted away: the formula is over persistent columns
        assert "#valued" not in e["formula"] and "mv_local" not in e["formula"]
        assert (
            e["formula"] == "SUM((ledger.holdings.units * ledger.quotes.quote_px) * ledger.fx_spot.eur_rate)"
        )
        assert e["content_url"] == f"/api/v1/files/{e['file_id']}/content?from=13&to=19"
    content = client.get(merged[0]["content_url"]).json()
    assert "\n".join(content["lines"]) == merged[0]["source_text"]


def test_explain_composes_the_compound_assignment_with_each_statement(bank: Bank) -> None:
    client, _ = bank
    ex = _get(client, "/api/v1/lineage/column/solvency.book_value.buffer_eur/explain")
    assert ex["column"] == "solvency.book_value.buffer_eur"
    assert ex["formula"] == "(solvency.book_value.value_eur * 0.08) + 250"
    assert ex["sources"] == ["solvency.book_value.value_eur"] and ex["truncated"] is False
    assert [(s["line_start"], s["line_end"]) for s in ex["steps"]] == [(21, 21), (22, 22)]
    assert (
        ex["steps"][0]["source_text"] == "    UPDATE solvency.book_value SET buffer_eur = value_eur * 0.08;"
    )
    assert ex["steps"][1]["source_text"] == "    UPDATE solvency.book_value SET buffer_eur += 250;"
    assert all(s["file"] == PROC and s["content_url"] for s in ex["steps"])


def test_explain_lists_every_writer_and_composes_to_the_leaves(bank: Bank) -> None:
    client, _ = bank
    ex = _get(client, "/api/v1/lineage/column/solvency.book_value.value_eur/explain")
    formulas = {ex["formula"], *(a["formula"] for a in ex["alternatives"])}
    # the procedure's MERGE and the broken file's INSERT (parsed before its error) both write it
    assert formulas == {
        "SUM((ledger.holdings.units * ledger.quotes.quote_px) * ledger.fx_spot.eur_rate)",
        "ledger.holdings.units",
    }
    merge = next(x for x in [ex, *ex["alternatives"]] if x["formula"].startswith("SUM"))
    assert [(s["line_start"], s["line_end"]) for s in merge["steps"]] == [(6, 11), (13, 19)]
    assert merge["steps"][0]["source_text"] == original(PROC, 6, 11)
    assert merge["steps"][0]["target"] == "#valued"
    assert merge["steps"][1]["target"] == "solvency.book_value.value_eur"
    deep = _get(client, "/api/v1/lineage/column/solvency.book_value.buffer_eur/explain", through="all")
    both = [deep, *deep["alternatives"]]
    assert {x["formula"] for x in both} == {
        "(SUM((ledger.holdings.units * ledger.quotes.quote_px) * ledger.fx_spot.eur_rate) * 0.08) + 250",
        "(ledger.holdings.units * 0.08) + 250",
    }
    full = next(x for x in both if "SUM" in x["formula"])
    assert full["sources"] == ["ledger.fx_spot.eur_rate", "ledger.holdings.units", "ledger.quotes.quote_px"]
    assert [s["line_start"] for s in full["steps"]] == [6, 13, 21, 22]


def test_node_definition_is_the_files_text(bank: Bank) -> None:
    client, _ = bank
    node = _get(client, "/api/v1/lineage/node/solvency.usp_value_books")
    assert node["definition_source"] == "file"
    assert (node["line_start"], node["line_end"]) == (2, 23)
    assert node["definition"] == original(PROC, 2, 23)
    assert "/* stage 1: value each holding in its quote currency */" in node["definition"]
    table = _get(client, "/api/v1/lineage/node/solvency.book_value")
    assert table["definition"] == original("tsql/ddl.sql", 4, 4) and table["definition_source"] == "file"
    read = next(r for r in table["reads"] if r["canonical_id"] == "ledger.quotes")
    assert (read["line_start"], read["line_end"]) == (13, 19) and read["source_text"] == original(
        PROC, 13, 19
    )
    edges = _get(client, "/api/v1/lineage/edges", granularity="column", node="solvency.book_value")
    assert all(e["source_text"] for e in edges["items"] if e["file"])


# --------------------------------------------------------------------------------------
# 3: complete walks, explicit truncation
# --------------------------------------------------------------------------------------


def test_twenty_view_chain_reaches_its_sources_with_the_defaults(bank: Bank) -> None:
    client, _ = bank
    up = _get(client, "/api/v1/lineage/column/mart.layer_20.amt/upstream")
    hops = {n["canonical_id"]: n["hop"] for n in up["nodes"]}
    assert up["truncated"] is False and up["omitted"] == 0
    assert hops["mart.layer_01.amt"] == 19 and hops["solvency.book_value.value_eur"] == 20
    assert {"ledger.holdings.units", "ledger.quotes.quote_px", "ledger.fx_spot.eur_rate"} <= set(hops)
    views = _get(client, "/api/v1/lineage/node/mart.layer_20/upstream")
    assert views["truncated"] is False and "ledger.holdings" in {n["canonical_id"] for n in views["nodes"]}
    impact = _get(client, "/api/v1/lineage/impact/ledger.quotes")
    assert impact["truncated"] is False and impact["omitted"] == 0 and impact["depth"] is None
    affected = {n["canonical_id"] for g in impact["groups"] for n in g["nodes"]}
    assert {f"mart.layer_{i:02d}" for i in range(1, 21)} <= affected
    path = _get(client, "/api/v1/lineage/path", **{"from": "ledger.quotes", "to": "mart.layer_20"})
    assert path["found"] and path["hops"] == 21


def test_a_depth_limit_and_the_node_cap_say_what_they_left_out(
    bank: Bank, make_client: Callable[..., Client]
) -> None:
    client, _ = bank
    full = _get(client, "/api/v1/lineage/column/mart.layer_20.amt/upstream")
    total = len(full["nodes"])
    cut = _get(client, "/api/v1/lineage/column/mart.layer_20.amt/upstream", depth=5)
    assert cut["truncated"] is True and len(cut["nodes"]) == 6 and cut["omitted"] == total - 6
    capped_client = make_client(walk_node_cap=7)
    capped = _get(capped_client, "/api/v1/lineage/column/mart.layer_20.amt/upstream")
    assert capped["truncated"] is True and len(capped["nodes"]) == 7 and capped["omitted"] == total - 7
    assert max(n["hop"] for n in capped["nodes"]) == 6  # the nearest hops are kept
    impact = _get(capped_client, "/api/v1/lineage/impact/ledger.quotes")
    assert impact["truncated"] is True and impact["omitted"] > 0 and impact["total"] == 6
    assert (
        _get(client, "/api/v1/lineage/column/mart.layer_20.amt/upstream", depth="all")["truncated"] is False
    )
    bad = client.get("/api/v1/lineage/column/mart.layer_20.amt/upstream", params={"depth": "deep"})
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"


# --------------------------------------------------------------------------------------
# 4: honest failures
# --------------------------------------------------------------------------------------


def test_a_broken_file_fails_visibly_and_keeps_what_parsed(bank: Bank) -> None:
    client, result = bank
    assert result["status"] == "completed_with_errors" and result["files_failed"] == 1
    broken = next(r for r in result["results"] if r["path"] == BROKEN)
    assert broken["status"] == "error" and (broken["line"], broken["column"]) == (4, 1)
    assert "SELEC" in broken["error"] and "syntax error" in broken["error"]
    assert file_lines(BROKEN)[3].startswith("SELEC ")
    files = _get(client, "/api/v1/files", status="error")
    assert [(f["path"], f["error_line"], f["error_column"]) for f in files["items"]] == [(BROKEN, 4, 1)]
    status = _get(client, f"/api/v1/ingestion/{result['ingestion_id']}")
    assert status["status"] == "completed_with_errors" and status["files_failed"] == 1
    log = client.get(f"/api/v1/ingestion/logs/{result['ingestion_id']}").text.splitlines()
    run = [json.loads(line) for line in log if '"event": "run"' in line][-1]
    assert run["status"] == "completed_with_errors" and run["files_failed"] == 1
    assert run["failed"] == [{"path": BROKEN, "line": 4, "column": 1, "error": broken["error"]}]
    # the statement before the error still produced its lineage, with its own lines
    g = _get(client, "/api/v1/lineage/column/solvency.book_value.value_eur/upstream", depth=1)
    kept = [e for e in g["edges"] if e["file"] == BROKEN]
    assert [(e["source_canonical_id"], e["line_start"], e["line_end"]) for e in kept] == [
        ("ledger.holdings.units", 1, 2)
    ]
    assert kept[0]["source_text"] == original(BROKEN, 1, 2)


def test_cli_prints_each_failed_file_and_exits_1(tmp_path: Path, database_url: str) -> None:
    exe = Path(sys.executable).parent / "finlineage"
    env = {
        **os.environ,
        "FINLINEAGE_DATA_DIR": str(tmp_path / "data"),
        "FINLINEAGE_LOG_DIR": str(tmp_path / "logs"),
        "FINLINEAGE_DATABASE_URL": database_url,
        "FINLINEAGE_PARSE_WORKERS": "1",
    }
    base = [str(exe), "ingest", str(CORPUS), "--project", "bank", "--repository", "warehouse", "--quiet"]
    typo = subprocess.run(base, env=env, capture_output=True, text=True, timeout=300)
    assert typo.returncode == 2 and "not found" in typo.stderr  # an unknown project is never created
    first = subprocess.run([*base, "--create-project"], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 1, first.stdout + first.stderr
    assert f"{BROKEN}:4:1: syntax error: unexpected 'SELEC'" in first.stderr.splitlines()
    assert "completed_with_errors" in first.stdout
    again = subprocess.run([*base, "--allow-errors"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{BROKEN}:4:1:" in again.stderr
    # --snapshot: the tree is the whole repository; what it lacks is removed
    tree = tmp_path / "tree"
    shutil.copytree(CORPUS, tree)
    (tree / "tsql" / "scratch.sql").unlink()
    snap = subprocess.run(
        [*base[:2], str(tree), *base[3:], "--snapshot", "--allow-errors", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert snap.returncode == 0, snap.stdout + snap.stderr
    body = json.loads(snap.stdout[snap.stdout.index("{") :])
    assert body["files_removed"] == ["tsql/scratch.sql"] and body["files_failed"] == 1


def test_an_unknown_project_is_not_created(make_client: Callable[..., Client]) -> None:
    client = make_client()
    res = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={"sql": "SELECT 1;", "project_id": "bnak", "dialect": "tsql"},
    )
    assert res.status_code == 404 and "create" in res.json()["message"]
    assert _get(client, "/api/v1/projects")["total"] == 0


# --------------------------------------------------------------------------------------
# 5: snapshot re-ingest
# --------------------------------------------------------------------------------------


def test_snapshot_removes_absent_files_and_their_facts(bank: Bank) -> None:
    client, _ = bank
    limits = _get(client, "/api/v1/lineage/node/solvency.limits")
    definer = limits["file"]["path"]
    assert definer in ("tsql/limits.sql", "tsql/limits_restated.sql")
    gone = (BROKEN, "tsql/scratch.sql", definer)
    res = upload(client, corpus_files(without=gone), mode="snapshot")
    assert res["status"] == "completed" and sorted(res["files_removed"]) == sorted(gone)
    assert res["files_skipped_duplicate"] == len(corpus_files()) - len(gone) - 1  # minus finlineage.toml
    # the removed file's edges are gone; its objects too, unless something else defines them
    ex = _get(client, "/api/v1/lineage/column/solvency.book_value.value_eur/explain")
    assert ex["alternatives"] == [] and ex["formula"].startswith("SUM(")
    assert client.get("/api/v1/lineage/node/sandbox.scratch_book").status_code == 404
    assert _get(client, "/api/v1/lineage/node/solvency.limits")["kind"] == "table"  # the other definer
    active = {f["path"] for f in _get(client, "/api/v1/files", status="active", limit=500)["items"]}
    assert not active & set(gone)
    # without either definer, the referenced table stays as an external node
    res = upload(
        client, corpus_files(without=(*gone, "tsql/limits.sql", "tsql/limits_restated.sql")), mode="snapshot"
    )
    assert res["files_removed"] and _get(client, "/api/v1/lineage/node/solvency.limits")["kind"] == "external"
    # an `add` upload of one file removes nothing
    res = upload(client, [("tsql/scratch.sql", (CORPUS / "tsql/scratch.sql").read_bytes())])
    assert res["files_removed"] == [] and _get(client, "/api/v1/lineage/node/sandbox.scratch_book")


def test_explain_through_all_on_a_wide_view_chain_is_bounded_and_says_so(
    make_client: Callable[..., Client],
) -> None:
    """Each view column reads two columns of the view before: expanded down to the leaves the
    formula would double with every hop (2**20 terms). The answer comes back, each column is
    composed once, the formula stays within its size bound and says it was truncated."""
    width, depth = 3, 20
    lines = [f"CREATE TABLE wide.base ({', '.join(f'c{i} int' for i in range(width))});"]
    prev = "wide.base"
    for v in range(depth):
        cols = ", ".join(f"c{i} + c{(i + 1) % width} AS c{i}" for i in range(width))
        lines.append(f"CREATE VIEW wide.v{v:02d} AS SELECT {cols} FROM {prev};")
        prev = f"wide.v{v:02d}"
    client = make_client()
    res = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": "\n".join(lines),
            "project_id": "wide",
            "create_project": True,
            "dialect": "postgres",
            "path": "wide.sql",
        },
    )
    assert res.status_code == 200, res.text
    pid = res.json()["project_id"]
    shallow = _get(client, f"/api/v1/lineage/column/{prev}.c0/explain", project_id=pid)
    assert shallow["formula"].replace(" ", "") == f"wide.v{depth - 2:02d}.c0+wide.v{depth - 2:02d}.c1"
    assert shallow["truncated"] is False
    deep = _get(client, f"/api/v1/lineage/column/{prev}.c0/explain", project_id=pid, through="all")
    assert deep["truncated"] is True
    assert len(deep["formula"]) <= 20_000 + 200
    # every view statement that contributed is a step once, in data-flow order (lines ascending)
    starts = [s["line_start"] for s in deep["steps"]]
    assert len(starts) == len(set(starts)) and starts == sorted(starts)
    # a short chain composes completely down to the base table
    short = _get(client, "/api/v1/lineage/column/wide.v01.c0/explain", project_id=pid, through="all")
    assert short["truncated"] is False
    assert set(short["sources"]) == {"wide.base.c0", "wide.base.c1", "wide.base.c2"}
