"""Bad input is rejected per file with a reason (and never written outside the data dir); runs
are asynchronous, logged, cancellable and resumable; dialects follow explicit > toml > auto."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from finlineage.ingest.dialects import DialectResolver, glob_regex
from finlineage.ingest.sources import UnsafePath, safe_relpath

from .conftest import Graph, by_path, make_targz, make_zip, upload

GOOD = b"CREATE TABLE risk.positions (id INT, amount DECIMAL(18,2));\n"


def test_bad_inputs_rejected_per_file(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    client = make_client(max_file_mb=0.5, max_archive_members=20, max_archive_ratio=50)
    big = b"SELECT 1 AS x;\n" * 60_000  # ~0.9 MiB
    bomb = make_zip([("bomb.sql", b" " * 3_000_000)])
    crowded = make_zip([(f"m{i}.sql", b"SELECT 1;") for i in range(25)])
    slip_zip = make_zip(
        [("../evil.sql", GOOD), ("ok/fine.sql", GOOD), ("link.sql", b"/etc/passwd")], symlinks=("link.sql",)
    )
    slip_tar = make_targz(
        [("/abs/evil2.sql", GOOD), ("../../evil3.sql", GOOD)], links={"lnk.sql": "/etc/passwd"}
    )
    res = upload(
        client,
        [
            ("good.sql", GOOD),
            ("binary.sql", b"\x00\x01\x02\x03 not text"),
            ("latin1.sql", "SELECT 'caf\u00e9' AS x;".encode("latin-1")),
            ("big.sql", big),
            ("bomb.zip", bomb),
            ("crowded.zip", crowded),
            ("slip.zip", slip_zip),
            ("slip.tar.gz", slip_tar),
            ("../upload-escape.sql", GOOD),
        ],
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["status"] == "completed_with_errors" and body["files_failed"] >= 1
    r = by_path(body)
    assert r["good.sql"]["status"] == "processed"
    assert r["ok/fine.sql"]["status"] == "processed"
    assert "binary" in r["binary.sql"]["error"]
    assert "UTF-8" in r["latin1.sql"]["error"]
    assert "too large" in r["big.sql"]["error"]
    assert "ratio" in r["bomb.zip"]["error"]
    assert "members" in r["crowded.zip"]["error"]
    assert "'..'" in r["../evil.sql"]["error"]
    assert "symbolic link" in r["link.sql"]["error"]
    assert "absolute" in r["/abs/evil2.sql"]["error"]
    assert "'..'" in r["../../evil3.sql"]["error"]
    assert "link" in r["lnk.sql"]["error"]
    assert "'..'" in r["../upload-escape.sql"]["error"]
    for name, item in r.items():
        if name not in ("good.sql", "ok/fine.sql"):
            assert item["status"] == "error", name
    assert body["files_failed"] == len(r) - 2
    for escaped in ("evil.sql", "evil3.sql", "upload-escape.sql"):
        assert not (tmp_path / escaped).exists()
        assert not (tmp_path / "data" / escaped).exists()
    assert not Path("/abs/evil2.sql").exists()


def test_wait_false_status_and_jsonl_log(client: TestClient) -> None:
    res = upload(client, [("a.sql", GOOD), ("b.sql", b"SELECT id FROM risk.positions;")], wait=False)
    assert res.status_code == 202, res.text
    accepted = res.json()
    iid = accepted["ingestion_id"]
    assert accepted["status_url"] == f"/api/v1/ingestion/{iid}"
    deadline = time.time() + 60
    status = {}
    while time.time() < deadline:
        status = client.get(f"/api/v1/ingestion/{iid}").json()
        if status["status"] in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "completed", status
    assert status["files_processed"] == 2 and status["percentage"] == 100.0
    assert {r["path"] for r in status["results"]} == {"a.sql", "b.sql"}
    log = client.get(f"/api/v1/ingestion/logs/{iid}")
    assert log.status_code == 200 and log.headers["content-type"].startswith("application/x-ndjson")
    import json

    records = [json.loads(line) for line in log.text.splitlines() if line.strip()]
    assert {r["path"] for r in records if r["event"] == "file"} == {"a.sql", "b.sql"}
    assert records[-1]["event"] == "run" and records[-1]["status"] == "completed"
    listing = client.get("/api/v1/ingestion/logs").json()
    assert iid in {item["ingestion_id"] for item in listing}
    assert client.get("/api/v1/ingestion/nope").status_code == 404
    assert client.get("/api/v1/ingestion/logs/nope").status_code == 404
    assert client.delete("/api/v1/ingestion/nope").status_code == 404


def test_cancel_and_resume(client: TestClient, graph: Graph) -> None:
    files = [(f"f{i:03}.sql", f"INSERT INTO t.t{i} (a) SELECT a FROM s.s{i};".encode()) for i in range(150)]
    first = upload(client, files, wait=False).json()
    second = upload(client, [("other.sql", GOOD)], wait=False).json()  # queued behind the first
    cancelled = client.delete(f"/api/v1/ingestion/{second['ingestion_id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    client.delete(f"/api/v1/ingestion/{first['ingestion_id']}")
    for iid in (first["ingestion_id"], second["ingestion_id"]):
        deadline = time.time() + 60
        while time.time() < deadline:
            st = client.get(f"/api/v1/ingestion/{iid}").json()
            if st["status"] in ("cancelled", "completed"):
                break
            time.sleep(0.2)
        assert st["status"] == "cancelled"
    resumed = client.post(f"/api/v1/ingestion/{first['ingestion_id']}/resume?wait=true")
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "completed" and body["ingestion_id"] == first["ingestion_id"]
    assert body["files_processed"] + body["files_skipped_duplicate"] == 150
    assert len(graph.rows("SELECT id FROM files WHERE status = 'active'")) == 150
    again = client.post(f"/api/v1/ingestion/{first['ingestion_id']}/resume")
    assert again.status_code == 409


def test_toml_mapping_and_precedence(client: TestClient) -> None:
    toml = b'[dialects]\n"pg/**/*.sql" = "postgres"\n"snow/**" = "snowflake"\n'
    archive = make_zip(
        [
            ("finlineage.toml", toml),
            ("pg/a/x.sql", b"SELECT 1 AS one;"),
            ("snow/y.sql", b"SELECT 1 AS one;"),
            ("other/z.sql", b"SELECT TOP 1 a FROM b;"),
        ]
    )
    r = by_path(upload(client, [("tree.zip", archive)], dialect="auto").json())
    assert r["pg/a/x.sql"]["dialect"] == "postgres"
    assert r["snow/y.sql"]["dialect"] == "snowflake"
    assert r["other/z.sql"]["dialect"] not in ("postgres", "snowflake")
    # a folder upload: the toml sits at the root of the uploaded tree
    r = by_path(
        upload(
            client,
            [("demo/finlineage.toml", toml), ("demo/pg/q.sql", b"SELECT 2 AS two;")],
            dialect="auto",
            repository="folder",
        ).json()
    )
    assert r["demo/pg/q.sql"]["dialect"] == "postgres"
    # explicit wins over the mapping
    r = by_path(upload(client, [("tree.zip", archive)], dialect="spark", repository="explicit").json())
    assert r["pg/a/x.sql"]["dialect"] == "spark"


def test_safe_relpath_and_globs() -> None:
    assert safe_relpath("a\\b/./c.sql") == "a/b/c.sql"
    for bad in ("../x", "a/../../x", "/etc/x", "C:/x", "", "a\x00b"):
        with pytest.raises(UnsafePath):
            safe_relpath(bad)
    assert glob_regex("tsql/**/*.sql").match("tsql/a.sql")
    assert glob_regex("tsql/**/*.sql").match("tsql/x/y/a.sql")
    assert not glob_regex("*.sql").match("a/b.sql")
    resolver = DialectResolver()
    resolver.add_config("g", "root/finlineage.toml", '[dialects]\n"**/*.sql" = "tsql"\n"x" = "nope"\n')
    assert resolver.resolve("g", "root/a/b.sql", None) == "tsql"
    assert resolver.resolve("g", "root/a/b.sql", "postgres") == "postgres"
    assert resolver.resolve("g", "elsewhere/b.sql", None) == "auto"
    assert any("nope" in w for w in resolver.warnings)


def test_resume_right_after_cancelling_a_running_run(client: TestClient, graph: Graph) -> None:
    files = [(f"r{i:03}.sql", f"INSERT INTO t.r{i} (a) SELECT a FROM s.r{i};".encode()) for i in range(200)]
    started = upload(client, files, wait=False).json()
    iid = started["ingestion_id"]
    deadline = time.time() + 60
    while time.time() < deadline:  # wait (on the condition) until it is really executing
        st = client.get(f"/api/v1/ingestion/{iid}").json()
        if st["status"] != "queued":
            break
        time.sleep(0.05)
    client.delete(f"/api/v1/ingestion/{iid}")
    # no waiting here: the cancelled execution may still be unwinding when resume arrives
    resumed = client.post(f"/api/v1/ingestion/{iid}/resume?wait=true")
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert body["status"] == "completed"
    assert body["files_processed"] + body["files_skipped_duplicate"] == 200
    assert len(graph.rows("SELECT id FROM files WHERE status = 'active'")) == 200
