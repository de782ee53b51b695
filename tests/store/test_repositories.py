from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from finlineage.lineage.model import ColumnDef, Diagnostic
from finlineage.query.stats import compute_stats, list_stats_snapshots, record_stats_snapshot
from finlineage.store import models as m
from finlineage.store import repositories as repo

from .helpers import chain_columns, make_project


def test_projects_and_sources(session):
    p = repo.get_or_create_project(session, "bank", "desc")
    assert repo.get_or_create_project(session, "bank").id == p.id
    s = repo.get_or_create_repository(session, p.id, "src", "directory", url="/data/sql")
    assert repo.get_or_create_repository(session, p.id, "src").id == s.id
    assert [r.name for r in repo.list_repositories(session, p.id)] == ["src"]
    assert [x.name for x in repo.list_projects(session)] == ["bank"]
    assert repo.delete_project(session, p.id)
    assert repo.get_project(session, p.id) is None


def test_runs_lifecycle(session):
    pid = make_project(session)
    run = repo.create_run(session, pid, params={"x": 1})
    assert repo.get_run_by_ingestion_id(session, run.ingestion_id).id == run.id
    repo.start_run(session, run.id)
    repo.increment_run_counters(session, run.id, files_processed=3, edges_created=10)
    repo.increment_run_counters(session, run.id, files_processed=2)
    done = repo.finish_run(session, run.id, "completed")
    assert done.status == "completed" and done.files_processed == 5 and done.edges_created == 10
    assert done.duration_ms is not None and done.duration_ms >= 0
    with pytest.raises(ValueError):
        repo.increment_run_counters(session, run.id, bogus=1)
    r2 = repo.create_run(session, pid, status="running")
    assert repo.mark_interrupted_runs(session) == 1
    assert repo.get_run(session, r2.id).status == "interrupted"
    assert len(repo.list_runs(session, pid)) == 2


def test_file_versions(session):
    pid = make_project(session)
    src = repo.create_repository(session, pid, "s")
    f1, ch = repo.record_file(session, src.id, "a.sql", "1" * 64, size=5)
    assert ch == "new" and f1.version == 1
    same, ch = repo.record_file(session, src.id, "a.sql", "1" * 64)
    assert ch == "unchanged" and same.id == f1.id
    f2, ch = repo.record_file(session, src.id, "a.sql", "2" * 64)
    assert ch == "changed" and f2.version == 2
    old = repo.get_file(session, f1.id)
    assert old.status == "superseded" and old.superseded_by == f2.id
    assert repo.latest_file(session, src.id, "a.sql").id == f2.id
    assert [f.id for f in repo.list_files(session, src.id)] == [f2.id]
    assert repo.find_file_by_sha(session, src.id, "2" * 64).id == f2.id
    repo.set_file_error(session, f2.id, "boom")
    assert repo.get_file(session, f2.id).status == "error"


def test_external_object_adopted(session):
    pid = make_project(session)
    ext, created = repo.upsert_object(session, pid, "db.dbo.trades")
    assert created and ext.kind == "external"
    assert (ext.database, ext.schema, ext.name) == ("db", "dbo", "trades")
    col = repo.get_or_create_column(session, ext.id, "amount")
    src = repo.create_repository(session, pid, "s")
    f, _ = repo.record_file(session, src.id, "t.sql", "a" * 64)
    real, created = repo.upsert_object(
        session,
        pid,
        "db.dbo.trades",
        kind="table",
        definition="CREATE TABLE dbo.trades (amount money)",
        file_id=f.id,
        line_start=3,
        line_end=7,
        diagnostics=[Diagnostic("parse_error", "meh")],
    )
    assert not created and real.id == ext.id
    assert real.kind == "table" and real.file_id == f.id and real.line_start == 3
    assert real.diagnostics[0]["code"] == "parse_error"
    # a later mere reference does not downgrade it
    again, _ = repo.upsert_object(session, pid, "db.dbo.trades")
    assert again.kind == "table" and again.definition.startswith("CREATE")
    # the column created while external is kept
    assert repo.get_or_create_column(session, ext.id, "amount").id == col.id


def test_ensure_objects_bulk_and_columns(session):
    pid = make_project(session)
    specs = [
        repo.ObjectSpec(f"s.t{i}", "table", columns=(ColumnDef("a", 1, "int"), ColumnDef("b", 2)))
        for i in range(1200)
    ]
    ids = repo.ensure_objects(session, pid, specs)
    assert len(ids) == 1200 and all(created for _, created in ids.values())
    assert session.scalar(select(func.count()).select_from(m.Column)) == 2400
    again = repo.ensure_objects(session, pid, [repo.ObjectSpec("s.t1"), repo.ObjectSpec("s.new")])
    assert again["s.t1"] == (ids["s.t1"][0], False) and again["s.new"][1]
    cols = repo.ensure_columns(session, ids["s.t1"][0], [ColumnDef("b", 2, "varchar"), "c"])
    assert set(cols) == {"b", "c"}
    assert [c.name for c in repo.list_columns(session, ids["s.t1"][0])] == ["a", "b", "c"]
    obj = repo.get_object(session, ids["s.t1"][0])
    assert obj.column_names == "a b c"
    refs = repo.ensure_column_refs(session, pid, ["s.t1.a", "x.y.z"])
    assert refs["s.t1.a"] == cols.get("a", refs["s.t1.a"])
    assert repo.get_column_by_ref(session, pid, "x.y.z").id == refs["x.y.z"]
    assert repo.get_object_by_canonical(session, pid, "x.y").kind == "external"


def test_delete_facts_by_file_replaces_exactly_that_file(session):
    pid = make_project(session)
    src = repo.create_repository(session, pid, "s")
    fa, _ = repo.record_file(session, src.id, "a.sql", "a" * 64)
    fb, _ = repo.record_file(session, src.id, "b.sql", "b" * 64)
    # file a defines view v from table t; file b defines table t and reads v into w
    ids = repo.ensure_objects(
        session,
        pid,
        [
            repo.ObjectSpec("s.v", "view", "CREATE VIEW v", file_id=fa.id, columns=(ColumnDef("x", 1),)),
            repo.ObjectSpec("s.t", "table", "CREATE TABLE t", file_id=fb.id, columns=(ColumnDef("x", 1),)),
            repo.ObjectSpec("s.only_a_src"),
        ],
    )
    col = repo.ensure_column_refs(session, pid, ["s.t.x", "s.v.x", "s.only_a_src.y", "s.w.x"])
    repo.insert_column_edges(
        session,
        pid,
        [
            {"source_column_id": col["s.t.x"], "target_column_id": col["s.v.x"]},
            {"source_column_id": col["s.only_a_src.y"], "target_column_id": col["s.v.x"]},
        ],
        file_id=fa.id,
    )
    repo.insert_column_edges(
        session, pid, [{"source_column_id": col["s.v.x"], "target_column_id": col["s.w.x"]}], file_id=fb.id
    )
    repo.insert_table_edges(
        session, pid, [{"source_object_id": ids["s.t"][0], "target_object_id": ids["s.v"][0]}], file_id=fa.id
    )
    repo.insert_code_chunks(session, [{"project_id": pid, "file_id": fa.id, "text": "create view"}])
    session.flush()

    res = repo.delete_facts_by_file(session, fa.id)
    assert (res.table_edges, res.column_edges, res.code_chunks) == (1, 2, 1)
    assert res.objects_demoted == 1
    te, ce = repo.list_edges_for_file(session, fa.id)
    assert te == [] and ce == []
    # file b's facts are untouched
    assert len(repo.list_edges_for_file(session, fb.id)[1]) == 1
    # v was defined by a but is still referenced by b's edge: demoted to external, same id
    v = repo.get_object(session, ids["s.v"][0])
    assert v.kind == "external" and v.definition is None and v.file_id is None
    # only_a_src was only referenced by a: gone
    assert repo.get_object_by_canonical(session, pid, "s.only_a_src") is None
    # t is defined by b: untouched
    assert repo.get_object(session, ids["s.t"][0]).kind == "table"
    # re-ingest a: v is adopted again with the same id
    obj, created = repo.upsert_object(
        session, pid, "s.v", kind="view", definition="CREATE VIEW v2", file_id=fa.id
    )
    assert not created and obj.id == ids["s.v"][0]


def test_api_keys(session):
    key, plaintext = repo.create_api_key(session, "ci", "editor")
    assert plaintext.startswith("flk_") and key.prefix == plaintext[:8]
    assert key.key_hash == repo.hash_api_key(plaintext) and plaintext not in key.key_hash
    assert len(key.key_hash) == 64
    found = repo.verify_api_key(session, plaintext)
    assert found is not None and found.role == "editor" and found.last_used_at is not None
    assert repo.verify_api_key(session, plaintext + "x") is None
    assert repo.verify_api_key(session, "") is None
    _, other = repo.create_api_key(session, "viewer")
    assert other != plaintext
    assert repo.revoke_api_key(session, key.id)
    assert repo.verify_api_key(session, plaintext) is None
    assert [k.name for k in repo.list_api_keys(session)] == ["viewer"]


def test_activity_events(session):
    now = datetime.now(UTC)
    n = repo.insert_activity_events(
        session,
        [
            {
                "type": "http",
                "method": "GET",
                "route": "/a",
                "status_code": 200,
                "latency_ms": 1.5,
                "ts": now,
            },
            {"type": "http", "route": "/b", "ts": now - timedelta(hours=2)},
            {"type": "ingest", "data": {"files": 3}, "project_id": 7},
        ],
    )
    assert n == 3
    assert len(repo.list_activity_events(session, type="http")) == 2
    assert len(repo.list_activity_events(session, since=now - timedelta(minutes=1))) == 2
    assert repo.list_activity_events(session, project_id=7)[0].data == {"files": 3}
    assert repo.prune_activity_events(session, now - timedelta(hours=1)) == 1
    with pytest.raises(ValueError):
        repo.insert_activity_events(session, [{"type": "x", "nope": 1}])


def test_stats_and_snapshots(session):
    pid = make_project(session)
    chain_columns(session, pid, [("s.a.x", "s.b.x"), ("s.b.x", "s.c.x")])
    st = compute_stats(session, pid)
    assert st["objects"] == 3 and st["objects_by_kind"] == {"external": 3}
    assert st["columns"] == 3 and st["column_edges"] == 2 and st["table_edges"] == 2
    assert compute_stats(session, pid + 100)["objects"] == 0
    record_stats_snapshot(session, pid)
    record_stats_snapshot(session, pid, {"objects": 99})
    snaps = list_stats_snapshots(session, pid)
    assert [s.counts["objects"] for s in snaps] == [3, 99]
    assert list_stats_snapshots(session) == []


def test_nearest_chunks(session):
    pid = make_project(session)
    e1 = [1.0] + [0.0] * 383
    e2 = [0.0, 1.0] + [0.0] * 382
    repo.insert_code_chunks(
        session,
        [
            {"project_id": pid, "text": "one", "embedding": e1},
            {"project_id": pid, "text": "two", "embedding": e2},
            {"project_id": pid, "text": "none"},
        ],
    )
    hits = repo.nearest_chunks(session, pid, [0.9, 0.1] + [0.0] * 382, limit=2)
    assert [c.text for c, _ in hits] == ["one", "two"]
    assert hits[0][1] < hits[1][1]
    assert [c.text for c in repo.chunks_without_embedding(session, pid)] == ["none"]


def test_bulk_edges_validate(session):
    pid = make_project(session)
    with pytest.raises(ValueError):
        repo.insert_column_edges(session, pid, [{"source_column_id": 1}])
    with pytest.raises(ValueError):
        repo.insert_table_edges(session, pid, [{"source_object_id": 1, "target_object_id": 2, "bad": 1}])
