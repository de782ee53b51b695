"""A small bank warehouse of our own for the #17 acceptance tests: T-SQL core banking,
PostgreSQL lending, Snowflake treasury, and one file per further platform."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import job_type_job, schema_dataset, symlinks_dataset
from openlineage.client.naming.dataset import S3, Postgres
from openlineage.client.transport.http import HttpConfig, HttpTransport
from referencing import Registry, Resource

from finlineage.store import db as store_db
from openlineage_native.conftest import make_key, write_tree
from openlineage_native.spec import spec_dir
from support import ingest_path

BANK: dict[str, str] = {
    "finlineage.toml": (
        "[dialects]\n"
        '"core/**" = "tsql"\n'
        '"lending/**" = "postgres"\n'
        '"treasury/**" = "snowflake"\n'
        '"ext/trino/**" = "trino"\n'
        '"ext/hive/**" = "hive"\n'
        '"ext/oracle/**" = "oracle"\n'
        '"ext/mysql/**" = "mysql"\n'
        '"ext/redshift/**" = "redshift"\n'
        '"ext/bq/**" = "bigquery"\n'
    ),
    "core/tables.sql": (
        "CREATE TABLE core.accounts (\n"
        "    account_id INT NOT NULL,\n"
        "    customer_id INT NOT NULL,\n"
        "    branch_code CHAR(4),\n"
        "    opened_on DATE\n"
        ");\n"
        "GO\n"
        "CREATE TABLE core.ledger_entries (\n"
        "    entry_id BIGINT NOT NULL,\n"
        "    account_id INT NOT NULL,\n"
        "    amount DECIMAL(19,4),\n"
        "    currency CHAR(3),\n"
        "    booked_at DATETIME2,\n"
        "    channel VARCHAR(20)\n"
        ");\n"
        "GO\n"
        "CREATE TABLE rpt.daily_balances (\n"
        "    account_id INT,\n"
        "    branch_code CHAR(4),\n"
        "    balance_date DATE,\n"
        "    closing_balance DECIMAL(19,4),\n"
        "    entry_count INT\n"
        ");\n"
        "GO\n"
    ),
    "core/usp_build_daily_balances.sql": (
        "CREATE PROCEDURE rpt.usp_build_daily_balances\n"
        "AS\n"
        "BEGIN\n"
        "    SET NOCOUNT ON;\n"
        "    INSERT INTO rpt.daily_balances (account_id, branch_code, balance_date, closing_balance, entry_count)\n"
        "    SELECT e.account_id, a.branch_code, CAST(e.booked_at AS DATE), SUM(e.amount), COUNT(e.entry_id)\n"
        "    FROM core.ledger_entries AS e\n"
        "    JOIN core.accounts AS a ON a.account_id = e.account_id\n"
        "    WHERE e.channel <> 'REVERSAL'\n"
        "    GROUP BY e.account_id, a.branch_code, CAST(e.booked_at AS DATE);\n"
        "END\n"
        "GO\n"
    ),
    "core/v_customer_accounts.sql": (
        "CREATE VIEW rpt.v_customer_accounts AS\n"
        "SELECT a.customer_id,\n"
        "       a.account_id,\n"
        "       ROW_NUMBER() OVER (PARTITION BY a.customer_id ORDER BY a.opened_on) AS account_seq,\n"
        "       CASE WHEN a.branch_code = 'HQ01' THEN 'HEAD' ELSE 'BRANCH' END AS office\n"
        "FROM core.accounts AS a;\n"
        "GO\n"
    ),
    "core/fn_net_amount.sql": (
        "CREATE FUNCTION core.fn_net_amount (@amount DECIMAL(19,4), @fee DECIMAL(19,4))\n"
        "RETURNS DECIMAL(19,4)\n"
        "AS\n"
        "BEGIN\n"
        "    RETURN @amount - @fee;\n"
        "END\n"
        "GO\n"
    ),
    "lending/loans.sql": (
        "CREATE TABLE lending.loans (loan_id bigint, account_id integer, principal numeric(19,4),\n"
        "    rate numeric(9,6), status text);\n"
        "CREATE TABLE lending.loan_exposure (account_id integer, exposure numeric(19,4), max_rate numeric(9,6));\n"
    ),
    "lending/refresh_exposure.sql": (
        "CREATE OR REPLACE FUNCTION lending.refresh_exposure() RETURNS void\n"
        "LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    INSERT INTO lending.loan_exposure (account_id, exposure, max_rate)\n"
        "    SELECT l.account_id, SUM(l.principal), MAX(l.rate)\n"
        "    FROM lending.loans l\n"
        "    WHERE l.status = 'ACTIVE'\n"
        "    GROUP BY l.account_id;\n"
        "END;\n"
        "$$;\n"
    ),
    "treasury/fx.sql": (
        "CREATE TABLE treasury.fx_rates (ccy VARCHAR(3), usd_rate NUMBER(18,8), rate_date DATE);\n"
        "CREATE TABLE treasury.cash_positions (account_ref VARCHAR(20), ccy VARCHAR(3), amount NUMBER(19,4));\n"
    ),
    "treasury/usd_exposure.sql": (
        "CREATE TABLE treasury.usd_exposure AS\n"
        "SELECT p.account_ref, p.amount * r.usd_rate AS usd_amount\n"
        "FROM treasury.cash_positions p\n"
        "JOIN treasury.fx_rates r ON r.ccy = p.ccy;\n"
    ),
    "ext/trino/card_spend.sql": (
        "INSERT INTO cards.monthly_spend (card_id, spend)\n"
        "SELECT card_id, SUM(amount) FROM cards.swipes GROUP BY card_id;\n"
    ),
    "ext/hive/atm_cash.sql": (
        "INSERT OVERWRITE TABLE atm.cash_out SELECT atm_id, SUM(withdrawn) AS total FROM atm.withdrawals GROUP BY atm_id;\n"
    ),
    "ext/oracle/gl_close.sql": (
        "INSERT INTO gl.period_close (gl_code, closing) SELECT gl_code, SUM(debit - credit) FROM gl.journal GROUP BY gl_code;\n"
    ),
    "ext/mysql/kyc.sql": (
        "INSERT INTO kyc.flags (customer_id, flagged) SELECT customer_id, MAX(risk_hit) FROM kyc.screenings GROUP BY customer_id;\n"
    ),
    "ext/redshift/churn.sql": (
        "INSERT INTO dw.churn_scores (customer_id, score) SELECT customer_id, AVG(signal) FROM dw.churn_signals GROUP BY customer_id;\n"
    ),
    "ext/bq/web_sessions.sql": (
        "INSERT INTO digital.sessions_daily (day, sessions) SELECT day, COUNT(session_id) FROM digital.web_events GROUP BY day;\n"
    ),
}


# ---------------------------------------------------------------------------------------
# a stranger's tools: a real server with keys, the spec files read as published
# ---------------------------------------------------------------------------------------


FACET_LEVELS = {"job": "JobFacet.json", "run": "RunFacet.json", "dataset": "DatasetFacet.json"}


class PublishedSchemas:
    """The spec files used the way OpenLineage's own tests use them: an event against
    ``OpenLineage.json#/$defs/<Kind>``, and each ``facets`` object against the root of every facet
    file of its level (a facet file's root maps the facet's key, e.g. ``columnLineage``, to its
    definition). Every facet must be covered by a file whose ``$id`` its ``_schemaURL`` names."""

    def __init__(self, root: Path) -> None:
        self.event_doc = json.loads((root / "OpenLineage.json").read_text())
        self.facet_docs = [json.loads(p.read_text()) for p in sorted((root / "facets").glob("*.json"))]
        self.registry: Registry = Registry().with_resources(
            [(d["$id"], Resource.from_contents(d)) for d in [self.event_doc, *self.facet_docs]]
        )

    def _errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        v = jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)]

    def facets(self, level: str, facets: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        covered: dict[str, str] = {}
        for doc in self.facet_docs:
            if not doc["$id"].endswith(FACET_LEVELS[level]):
                continue
            keys = set(doc.get("properties", {})) & set(facets)
            if keys:
                errors += self._errors(doc, {k: facets[k] for k in keys})
                covered.update({k: doc["$id"] for k in keys})
        for key, body in facets.items():
            if key not in covered:
                errors.append(f"{level} facet {key}: no published {FACET_LEVELS[level]} defines it")
            elif str(body.get("_schemaURL", "")).split("#")[0] != covered[key]:
                errors.append(f"{key}: _schemaURL {body.get('_schemaURL')!r} is not {covered[key]}")
        return errors

    def event(self, event: dict[str, Any], kind: str = "RunEvent") -> list[str]:
        errors = self._errors({"$ref": f"{self.event_doc['$id']}#/$defs/{kind}"}, event)
        if "job" in event:
            errors += self.facets("job", event["job"].get("facets", {}))
        if "run" in event:
            errors += self.facets("run", event["run"].get("facets", {}))
        for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
            errors += self.facets("dataset", ds.get("facets", {}))
        return errors


def published() -> PublishedSchemas:
    return PublishedSchemas(spec_dir())


@dataclass
class Bank:
    """A real server (``make_server``) with an admin, an editor and a viewer key."""

    server: Any
    admin: str
    editor: str
    viewer: str

    def http(self, role: str = "admin") -> httpx.Client:
        key = {"admin": self.admin, "editor": self.editor, "viewer": self.viewer}[role]
        return httpx.Client(
            base_url=self.server.http, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )

    def ingest(self, path: Path, project: str, repository: str) -> dict[str, Any]:
        with self.http() as h:
            return ingest_path(h, path, project, repository)

    def export(self, project_id: int) -> list[dict[str, Any]]:
        with self.http("viewer") as h:
            r = h.get("/api/v1/export", params={"format": "openlineage", "project_id": project_id})
        assert r.status_code == 200, r.text
        events: list[dict[str, Any]] = r.json()
        return events


def start_bank(make_server: Any, database_url: str, /, **overrides: Any) -> Bank:
    """A server on ``database_url`` (or on ``overrides['database_url']``, e.g. an empty store)."""
    server = make_server(**overrides)
    url = overrides.get("database_url", database_url)
    return Bank(
        server,
        make_key(url, f"admin-{uuid.uuid4().hex[:6]}", "admin"),
        make_key(url, f"editor-{uuid.uuid4().hex[:6]}", "editor"),
        make_key(url, f"viewer-{uuid.uuid4().hex[:6]}", "viewer"),
    )


def empty_database(database_url: str, tmp_path: Path, request: Any) -> str:
    """A second, empty and migrated store on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        path = tmp_path / f"empty-{uuid.uuid4().hex[:8]}.db"
        store_db.migrate(f"sqlite:///{path}")
        return f"sqlite:///{path}"
    name = f"acc_{uuid.uuid4().hex[:12]}"
    admin = request.getfixturevalue("pg_admin")
    server = request.getfixturevalue("pg_server")
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("pg_template")}"')
    request.addfinalizer(lambda: admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return str(server.url(name))


def column_edges(events: list[dict[str, Any]]) -> set[tuple[str, str, str, str, str]]:
    """Every column edge of a list of RunEvents: (input ns:dataset.field, output ns:dataset.field,
    type, subtype) plus dataset-wide inputs as (…, output ns:dataset.*)."""
    out: set[tuple[str, str, str, str, str]] = set()
    for e in events:
        for o in e.get("outputs", []):
            cl = o.get("facets", {}).get("columnLineage", {})
            target = f"{o['namespace']}:{o['name']}"
            for col, spec in cl.get("fields", {}).items():
                for f in spec["inputFields"]:
                    for t in f.get("transformations") or [{"type": "", "subtype": ""}]:
                        out.add(
                            (
                                f"{f['namespace']}:{f['name']}",
                                f["field"],
                                f"{target}.{col}",
                                t["type"],
                                t.get("subtype") or "",
                            )
                        )
            for f in cl.get("dataset", []):
                for t in f.get("transformations") or [{"type": "", "subtype": ""}]:
                    out.add(
                        (f"{f['namespace']}:{f['name']}", f["field"], f"{target}.*", t["type"], t["subtype"])
                    )
    return out


# ---------------------------------------------------------------------------------------
# emitting with the openlineage-python client
# ---------------------------------------------------------------------------------------

PRODUCER = "https://example.invalid/bank-spark-acceptance"
AUTHORITY = "sql01.bank.internal:1433"
LEDGER_NS = f"mssql://{AUTHORITY}"
LANDING = S3(bucket_name="bank-landing", object_key="raw/ledger/2026-12-06")
CRM = Postgres(host="crm-db", port="5432", database="crm", schema="public", table="customers")


def emitter(bank: Bank, key: str, *, gzip: bool = False) -> OpenLineageClient:
    config: dict[str, Any] = {
        "url": bank.server.http,
        "auth": {"type": "api_key", "apiKey": key},
        "timeout": 60,
        "retry": {"total": 0},
    }
    if gzip:
        config["compression"] = "gzip"
    return OpenLineageClient(transport=HttpTransport(HttpConfig.from_dict(config)))


def warehouse(make_server: Any, database_url: str, roots: Path) -> tuple[Bank, int]:
    bank = start_bank(make_server, database_url)
    res = bank.ingest(write_tree(roots / "bank", BANK), "bank", "core-bank")
    with bank.http() as h:
        r = h.put(f"/api/v1/repositories/{res['repository_id']}/namespace", json={"namespace": AUTHORITY})
        assert r.status_code == 200, r.text
    return bank, int(res["project_id"])


def schema_field(name: str, type_: str) -> schema_dataset.SchemaDatasetFacetFields:
    return schema_dataset.SchemaDatasetFacetFields(name=name, type=type_)


def spark_run(state: RunState, run_id: str, when: str) -> RunEvent:
    """A Spark job: a landing path in S3 → a lake table whose symlink names the parsed
    core.ledger_entries of the SQL Server (a namespace with a port)."""
    path_ns, path = LANDING.get_namespace(), "/" + LANDING.get_name()

    def src(field: str, subtype: str = "IDENTITY") -> cl.Fields:
        return cl.Fields(
            inputFields=[cl.InputField(path_ns, path, field, [cl.Transformation("DIRECT", subtype)])]
        )

    return RunEvent(
        eventType=state,
        eventTime=when,
        run=Run(runId=run_id),
        job=Job(
            namespace="bank-spark",
            name="ingest_ledger.write_lake",
            facets={"jobType": job_type_job.JobTypeJobFacet("BATCH", "SPARK", "JOB")},
        ),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                namespace=path_ns,
                name=path,
                facets={
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[
                            schema_field("id", "long"),
                            schema_field("amt", "decimal(19,4)"),
                            schema_field("chan", "string"),
                        ]
                    )
                },
            )
        ],
        outputs=[
            OutputDataset(
                namespace="hdfs://lake-nn:8020",
                name="/warehouse/core.db/ledger_entries",
                facets={
                    "symlinks": symlinks_dataset.SymlinksDatasetFacet(
                        identifiers=[symlinks_dataset.Identifier(LEDGER_NS, "core.ledger_entries", "TABLE")]
                    ),
                    "schema": schema_dataset.SchemaDatasetFacet(
                        fields=[
                            schema_field("entry_id", "long"),
                            schema_field("amount", "decimal(19,4)"),
                            schema_field("channel", "string"),
                        ]
                    ),
                    "columnLineage": cl.ColumnLineageDatasetFacet(
                        fields={
                            "entry_id": src("id"),
                            "amount": src("amt", "TRANSFORMATION"),
                            "channel": src("chan"),
                        }
                    ),
                },
            )
        ],
    )
