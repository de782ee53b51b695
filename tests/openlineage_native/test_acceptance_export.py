"""#17 acceptance, export: a bank warehouse of our own (T-SQL, PostgreSQL, Snowflake and six more
platforms) ingested into a real server, exported, and every event checked against the published
spec files; namespaces per dialect and from API, CLI and finlineage.toml; routines, views and
scripts as jobs; typed transformations; sourceCodeLocation from a real git ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from openlineage_native.acceptance_bank import BANK, Bank, published, start_bank
from openlineage_native.conftest import write_tree
from security.gitserve import bare_repo, git_daemon
from support import app_settings

SCHEMES = {
    "core/": "mssql://core-bank",
    "lending/": "postgres://core-bank",
    "treasury/": "snowflake://core-bank",
    "ext/trino/": "trino://core-bank",
    "ext/hive/": "hive://core-bank",
    "ext/oracle/": "oracle://core-bank",
    "ext/mysql/": "mysql://core-bank",
    "ext/redshift/": "redshift://core-bank",
    "ext/bq/": "bigquery",
}
OUTPUT_OF = {  # the dataset each platform's file writes
    "rpt.daily_balances": "core/",
    "lending.loan_exposure": "lending/",
    "treasury.usd_exposure": "treasury/",
    "cards.monthly_spend": "ext/trino/",
    "atm.cash_out": "ext/hive/",
    "gl.period_close": "ext/oracle/",
    "kyc.flags": "ext/mysql/",
    "dw.churn_scores": "ext/redshift/",
    "digital.sessions_daily": "ext/bq/",
}


def _bank(make_server: Any, database_url: str, roots: Path, files: dict[str, str] = BANK) -> tuple[Bank, int]:
    bank = start_bank(make_server, database_url)
    res = bank.ingest(write_tree(roots / "bank", files), "bank", "core-bank")
    return bank, int(res["project_id"])


def _writer(events: list[dict[str, Any]], dataset: str) -> dict[str, Any]:
    found = [e for e in events if dataset in {o["name"] for o in e["outputs"]}]
    assert len(found) == 1, (dataset, [e["job"]["name"] for e in found])
    return found[0]


def _cli(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    settings = app_settings(tmp_path, database_url)
    env = {
        **os.environ,
        "FINLINEAGE_DATA_DIR": str(settings.data_dir),
        "FINLINEAGE_DATABASE_URL": settings.effective_database_url,
    }
    exe = Path(sys.executable).with_name("finlineage")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=300)


def test_every_event_of_a_multi_dialect_corpus_is_valid_per_published_schemas(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    events = bank.export(pid)
    schemas = published()
    assert len(events) == len(SCHEMES) + 1  # one writer per platform file + the view
    seen_facets: set[str] = set()
    for e in events:
        assert schemas.event(e) == [], e["job"]["name"]
        seen_facets |= set(e["job"]["facets"])
        for ds in [*e["inputs"], *e["outputs"]]:
            seen_facets |= set(ds["facets"])
    assert {"jobType", "sql", "schema", "columnLineage"} <= seen_facets
    # the checker can fail: a facet with a stale version, a bad subtype type, a missing name
    bad = json.loads(json.dumps(_writer(events, "rpt.daily_balances")))
    out = bad["outputs"][0]["facets"]
    out["columnLineage"]["_schemaURL"] = out["columnLineage"]["_schemaURL"].replace("1-2-0", "1-1-0")
    assert schemas.event(bad)
    bad = json.loads(json.dumps(_writer(events, "rpt.daily_balances")))
    bad["outputs"][0]["facets"]["columnLineage"]["fields"]["entry_count"]["inputFields"][0][
        "transformations"
    ][0]["masking"] = "no"
    assert schemas.event(bad)
    bad = json.loads(json.dumps(_writer(events, "rpt.daily_balances")))
    del bad["inputs"][0]["name"]
    assert schemas.event(bad)


def test_namespace_scheme_per_dialect_and_names_without_paths(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    events = bank.export(pid)
    for dataset, prefix in OUTPUT_OF.items():
        e = _writer(events, dataset)
        ns = SCHEMES[prefix]
        assert e["job"]["namespace"] == ns, dataset
        assert {d["namespace"] for d in [*e["inputs"], *e["outputs"]]} == {ns}, dataset
        # column lineage inputs name the same namespaces as the input datasets
        for o in e["outputs"]:
            for spec in o["facets"]["columnLineage"]["fields"].values():
                assert {f["namespace"] for f in spec["inputFields"]} == {ns}, dataset
    # dataset names are [database.]schema.table; no job or dataset is named by a path
    for e in events:
        assert "/" not in e["job"]["name"] and not e["job"]["name"].endswith(".sql")
        for d in [*e["inputs"], *e["outputs"]]:
            assert len(d["name"].split(".")) in (2, 3) and "/" not in d["name"], d["name"]


def test_routines_views_and_scripts_are_jobs_with_typed_facets(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    events = bank.export(pid)
    jobs = {e["job"]["name"]: e for e in events}
    datasets = {d["name"] for e in events for d in [*e["inputs"], *e["outputs"]]}
    routines = {"rpt.usp_build_daily_balances", "lending.refresh_exposure", "core.fn_net_amount"}
    assert not routines & datasets  # routines are never datasets
    assert jobs["rpt.usp_build_daily_balances"]["job"]["facets"]["jobType"]["jobType"] == "STORED_PROCEDURE"
    assert jobs["lending.refresh_exposure"]["job"]["facets"]["jobType"]["jobType"] in (
        "STORED_PROCEDURE",
        "FUNCTION",
    )
    view = jobs["rpt.v_customer_accounts"]
    assert view["job"]["facets"]["jobType"]["jobType"] == "VIEW"
    assert [o["name"] for o in view["outputs"]] == ["rpt.v_customer_accounts"]  # the view is also a dataset
    # a file-level script: named by the one object it defines, else by the file stem
    assert jobs["treasury.usd_exposure"]["job"]["facets"]["jobType"]["jobType"] == "SCRIPT"
    assert jobs["card_spend"]["job"]["facets"]["jobType"]["jobType"] == "SCRIPT"
    for e in events:
        jt = e["job"]["facets"]["jobType"]
        assert (jt["processingType"], jt["integration"]) == ("BATCH", "FINLINEAGE")
    # sql is the original text, as written in the file (not regenerated)
    proc_sql = jobs["rpt.usp_build_daily_balances"]["job"]["facets"]["sql"]["query"]
    assert "SET NOCOUNT ON;" in proc_sql and "    WHERE e.channel <> 'REVERSAL'\n" in proc_sql
    assert "$$" in jobs["lending.refresh_exposure"]["job"]["facets"]["sql"]["query"]
    assert jobs["card_spend"]["job"]["facets"]["sql"]["query"] == BANK["ext/trino/card_spend.sql"]
    # schema facet with DDL types on parsed tables (types compared without spaces/case)
    loans = next(i for i in jobs["lending.refresh_exposure"]["inputs"] if i["name"] == "lending.loans")
    types = {
        f["name"]: f.get("type", "").upper().replace(" ", "") for f in loans["facets"]["schema"]["fields"]
    }
    assert types["principal"] in ("NUMERIC(19,4)", "DECIMAL(19,4)") and types["status"] == "TEXT"
    assert [f["name"] for f in loans["facets"]["schema"]["fields"]] == [
        "loan_id",
        "account_id",
        "principal",
        "rate",
        "status",
    ]


def _transformations(event: dict[str, Any], output: str, column: str) -> dict[str, set[tuple[str, str]]]:
    out = next(o for o in event["outputs"] if o["name"] == output)
    spec = out["facets"]["columnLineage"]["fields"][column]
    found: dict[str, set[tuple[str, str]]] = {}
    for f in spec["inputFields"]:
        key = f"{f['name']}.{f['field']}"
        found.setdefault(key, set()).update((t["type"], t["subtype"]) for t in f["transformations"])
    return found


def test_transformations_are_typed_from_the_engine(make_server: Any, database_url: str, roots: Path) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    events = bank.export(pid)
    proc = _writer(events, "rpt.daily_balances")
    bal = _transformations(proc, "rpt.daily_balances", "closing_balance")
    assert ("DIRECT", "AGGREGATION") in bal["core.ledger_entries.amount"]
    assert ("INDIRECT", "FILTER") in bal["core.ledger_entries.channel"]
    assert ("INDIRECT", "JOIN") in bal["core.accounts.account_id"]
    assert ("INDIRECT", "GROUP_BY") in bal["core.ledger_entries.booked_at"]
    assert ("DIRECT", "AGGREGATION") in _transformations(proc, "rpt.daily_balances", "entry_count")[
        "core.ledger_entries.entry_id"
    ]
    assert ("DIRECT", "TRANSFORMATION") in _transformations(proc, "rpt.daily_balances", "balance_date")[
        "core.ledger_entries.booked_at"
    ]
    assert ("DIRECT", "IDENTITY") in _transformations(proc, "rpt.daily_balances", "branch_code")[
        "core.accounts.branch_code"
    ]
    view = _writer(events, "rpt.v_customer_accounts")
    seq = _transformations(view, "rpt.v_customer_accounts", "account_seq")
    assert seq["core.accounts.opened_on"] == {("INDIRECT", "WINDOW")}
    office = _transformations(view, "rpt.v_customer_accounts", "office")
    assert office["core.accounts.branch_code"] == {("DIRECT", "TRANSFORMATION"), ("INDIRECT", "CONDITIONAL")}
    fx = _transformations(_writer(events, "treasury.usd_exposure"), "treasury.usd_exposure", "usd_amount")
    assert ("DIRECT", "TRANSFORMATION") in fx["treasury.fx_rates.usd_rate"]
    assert ("INDIRECT", "JOIN") in fx["treasury.fx_rates.ccy"]
    oracle = _transformations(_writer(events, "gl.period_close"), "gl.period_close", "closing")
    assert oracle["gl.journal.debit"] == {("DIRECT", "AGGREGATION")}
    # the deprecated per-field keys Marquez reads
    out = next(o for o in proc["outputs"] if o["name"] == "rpt.daily_balances")
    fields = out["facets"]["columnLineage"]["fields"]
    assert fields["branch_code"]["transformationType"] == "IDENTITY"
    assert fields["closing_balance"]["transformationType"] == "TRANSFORMATION"
    assert "SUM(" in fields["closing_balance"]["transformationDescription"].upper()


def test_repository_namespace_via_api_cli_and_toml(
    make_server: Any, database_url: str, roots: Path, tmp_path: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots)
    with bank.http() as h:
        repo_id = next(
            r["id"]
            for r in h.get(f"/api/v1/projects/{pid}/repositories").json()["items"]
            if r["name"] == "core-bank"
        )
        r = h.put(f"/api/v1/repositories/{repo_id}/namespace", json={"namespace": "sql01.bank.internal:1433"})
        assert r.status_code == 200, r.text
    with bank.http("viewer") as h:  # a viewer cannot change it
        r = h.put(f"/api/v1/repositories/{repo_id}/namespace", json={"namespace": "elsewhere"})
        assert r.status_code == 403 and r.json()["error"]
    events = bank.export(pid)
    assert _writer(events, "rpt.daily_balances")["job"]["namespace"] == "mssql://sql01.bank.internal:1433"
    assert (
        _writer(events, "lending.loan_exposure")["job"]["namespace"] == "postgres://sql01.bank.internal:1433"
    )
    assert _writer(events, "digital.sessions_daily")["job"]["namespace"] == "bigquery"

    # the CLI, as an operator would run it against the same store
    done = _cli(tmp_path, database_url, "namespace", "set", "core-bank", "pg-bank:5432", "--project", "bank")
    assert done.returncode == 0, done.stderr
    done = _cli(tmp_path, database_url, "export", "--format", "openlineage", "--project", "bank")
    assert done.returncode == 0, done.stderr
    cli_events = json.loads(done.stdout)
    assert _writer(cli_events, "kyc.flags")["job"]["namespace"] == "mysql://pg-bank:5432"
    assert _writer(bank.export(pid), "kyc.flags")["job"]["namespace"] == "mysql://pg-bank:5432"
    for e in cli_events:
        assert published().event(e) == []
    bad = _cli(tmp_path, database_url, "namespace", "set", "no-such-repo", "x", "--project", "bank")
    assert bad.returncode != 0 and "no-such-repo" in bad.stderr
    bad = _cli(tmp_path, database_url, "namespace", "set", "core-bank", "postgres://", "--project", "bank")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr

    # finlineage.toml in the ingested tree
    files = dict(BANK)
    files["finlineage.toml"] += '\n[openlineage]\nnamespace = "dwh-prod.bank.internal:1521"\n'
    res = bank.ingest(write_tree(roots / "bank-toml", files), "bank-toml", "warehouse")
    events = bank.export(int(res["project_id"]))
    assert _writer(events, "gl.period_close")["job"]["namespace"] == "oracle://dwh-prod.bank.internal:1521"
    assert _writer(events, "treasury.usd_exposure")["inputs"][0]["namespace"] == (
        "snowflake://dwh-prod.bank.internal:1521"
    )


def test_source_code_location_of_a_git_ingest(
    make_server: Any, database_url: str, roots: Path, tmp_path: Path
) -> None:
    bank = start_bank(make_server, database_url, git_allowed_schemes=["git"], git_allowed_hosts=["127.0.0.1"])
    gitroot = tmp_path / "git"
    gitroot.mkdir()
    bare = bare_repo(gitroot, "bank.git", {k: v.encode() for k, v in BANK.items()})
    sha = subprocess.run(
        ["git", "rev-parse", "main"], cwd=bare, capture_output=True, text=True, check=True
    ).stdout.strip()
    with git_daemon(gitroot) as port, bank.http() as h:
        url = f"git://127.0.0.1:{port}/bank.git"
        r = h.post(
            "/api/v1/ingest/git?wait=true",
            json={
                "url": url,
                "ref": "main",
                "project_id": "bank-git",
                "create_project": True,
                "repository_name": "core-bank",
            },
        )
        assert r.status_code == 200, r.text
    events = bank.export(int(r.json()["project_id"]))
    schemas = published()
    for e in events:
        assert schemas.event(e) == []
        loc = e["job"]["facets"]["sourceCodeLocation"]
        assert loc["type"] == "git" and loc["repoUrl"] == url and loc["version"] == sha
    loc = _writer(events, "rpt.daily_balances")["job"]["facets"]["sourceCodeLocation"]
    assert loc["path"] == "core/usp_build_daily_balances.sql"
    loc = _writer(events, "kyc.flags")["job"]["facets"]["sourceCodeLocation"]
    assert loc["path"] == "ext/mysql/kyc.sql"


ROUTINE_CALLS = {
    "core/routine_calls.sql": (
        "CREATE FUNCTION core.fn_branch_accounts (@branch CHAR(4))\n"
        "RETURNS TABLE\n"
        "AS\n"
        "RETURN\n"
        "    SELECT a.account_id, a.customer_id FROM core.accounts AS a WHERE a.branch_code = @branch;\n"
        "GO\n"
        "CREATE TABLE rpt.hq_accounts (account_id INT, customer_id INT);\n"
        "GO\n"
        "CREATE PROCEDURE rpt.usp_load_hq AS\n"
        "BEGIN\n"
        "    INSERT INTO rpt.hq_accounts (account_id, customer_id)\n"
        "    SELECT f.account_id, f.customer_id FROM core.fn_branch_accounts('HQ01') AS f;\n"
        "END\n"
        "GO\n"
        "CREATE TABLE rpt.net_entries (entry_id BIGINT, net DECIMAL(19,4));\n"
        "GO\n"
        "CREATE PROCEDURE rpt.usp_net_entries AS\n"
        "BEGIN\n"
        "    INSERT INTO rpt.net_entries (entry_id, net)\n"
        "    SELECT e.entry_id, core.fn_net_amount(e.amount, 1.5) FROM core.ledger_entries AS e;\n"
        "END\n"
        "GO\n"
    )
}


def test_a_qualified_scalar_function_call_is_a_transformation(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots, {**BANK, **ROUTINE_CALLS})
    net = _transformations(_writer(bank.export(pid), "rpt.net_entries"), "rpt.net_entries", "net")
    assert net["core.ledger_entries.amount"] == {("DIRECT", "TRANSFORMATION")}


def test_lineage_through_an_inline_table_valued_function(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots, {**BANK, **ROUTINE_CALLS})
    events = bank.export(pid)
    assert "core.fn_branch_accounts" not in {d["name"] for e in events for d in [*e["inputs"], *e["outputs"]]}
    hq = _writer(events, "rpt.hq_accounts")
    assert hq["job"]["name"] == "rpt.usp_load_hq"
    assert ("DIRECT", "IDENTITY") in _transformations(hq, "rpt.hq_accounts", "customer_id")[
        "core.accounts.customer_id"
    ]


MORE_ROUTINES = {
    "treasury/sp_snapshot.sql": (
        "CREATE OR REPLACE PROCEDURE treasury.sp_snapshot_rates()\n"
        "RETURNS VARCHAR\n"
        "LANGUAGE SQL\n"
        "AS\n"
        "$$\n"
        "BEGIN\n"
        "    INSERT INTO treasury.rate_snapshots (ccy, usd_rate) SELECT ccy, usd_rate FROM treasury.fx_rates;\n"
        "    RETURN 'ok';\n"
        "END;\n"
        "$$;\n"
    ),
    "treasury/mv_ccy_totals.sql": (
        "CREATE MATERIALIZED VIEW treasury.mv_ccy_totals AS\n"
        "SELECT ccy, SUM(amount) AS total FROM treasury.cash_positions GROUP BY ccy;\n"
    ),
    "lending/archive.sql": (
        "CREATE PROCEDURE lending.archive_closed()\n"
        "LANGUAGE plpgsql\n"
        "AS $$\n"
        "BEGIN\n"
        "    INSERT INTO lending.loans_archive (loan_id, principal)\n"
        "    SELECT loan_id, principal FROM lending.loans WHERE status = 'CLOSED';\n"
        "END;\n"
        "$$;\n"
    ),
    "lending/v_active.sql": (
        "CREATE VIEW lending.v_active AS\n"
        "SELECT loan_id, principal * rate AS accrual FROM lending.loans WHERE status = 'ACTIVE';\n"
    ),
    "core/usp_with_temp.sql": (
        "CREATE PROCEDURE rpt.usp_with_temp AS\n"
        "BEGIN\n"
        "    SELECT account_id, SUM(amount) AS amt INTO #t FROM core.ledger_entries GROUP BY account_id;\n"
        "    INSERT INTO rpt.account_totals (account_id, total) SELECT account_id, amt FROM #t;\n"
        "END\n"
        "GO\n"
    ),
}
TRIGGER = {
    "core/trg_ledger_audit.sql": (
        "CREATE TRIGGER core.trg_ledger_audit ON core.ledger_entries AFTER INSERT AS\n"
        "BEGIN\n"
        "    INSERT INTO core.ledger_audit (entry_id, amount) SELECT i.entry_id, i.amount FROM inserted AS i;\n"
        "END\n"
        "GO\n"
    )
}


def test_routines_of_every_dialect_are_jobs_and_temp_tables_collapse(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots, {**BANK, **MORE_ROUTINES})
    events = bank.export(pid)
    schemas = published()
    for e in events:
        assert schemas.event(e) == [], e["job"]["name"]
    expected = {
        "treasury.rate_snapshots": (
            "snowflake://core-bank",
            "treasury.sp_snapshot_rates",
            "STORED_PROCEDURE",
        ),
        "treasury.mv_ccy_totals": ("snowflake://core-bank", "treasury.mv_ccy_totals", "VIEW"),
        "lending.loans_archive": ("postgres://core-bank", "lending.archive_closed", "STORED_PROCEDURE"),
        "lending.v_active": ("postgres://core-bank", "lending.v_active", "VIEW"),
        "rpt.account_totals": ("mssql://core-bank", "rpt.usp_with_temp", "STORED_PROCEDURE"),
    }
    for dataset, (ns, job, kind) in expected.items():
        e = _writer(events, dataset)
        assert (e["job"]["namespace"], e["job"]["name"], e["job"]["facets"]["jobType"]["jobType"]) == (
            ns,
            job,
            kind,
        )
    names = {d["name"] for e in events for d in [*e["inputs"], *e["outputs"]]}
    assert not {"treasury.sp_snapshot_rates", "lending.archive_closed", "rpt.usp_with_temp"} & names
    assert not [n for n in names if "#" in n]  # the temp table is collapsed, never a dataset
    totals = _transformations(_writer(events, "rpt.account_totals"), "rpt.account_totals", "total")
    assert ("DIRECT", "AGGREGATION") in totals["core.ledger_entries.amount"]
    snap = _writer(events, "treasury.rate_snapshots")["job"]["facets"]["sql"]["query"]
    assert "RETURN 'ok';" in snap


def test_a_trigger_reads_its_own_table_not_a_dataset_named_inserted(
    make_server: Any, database_url: str, roots: Path
) -> None:
    bank, pid = _bank(make_server, database_url, roots, {**BANK, **TRIGGER})
    e = _writer(bank.export(pid), "core.ledger_audit")
    assert e["job"]["name"] == "core.trg_ledger_audit"
    assert [d["name"] for d in e["inputs"]] == ["core.ledger_entries"]
