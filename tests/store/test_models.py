from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from finlineage.store import models as m


def test_round_trip_all_tables(session):
    p = m.Project(name="bank", description="core banking")
    session.add(p)
    session.flush()
    r = m.Repository(project_id=p.id, name="src", kind="git", url="https://x/y.git", ref="main")
    session.add(r)
    session.flush()
    run = m.Run(project_id=p.id, repository_id=r.id, params={"dialect": "tsql", "n": [1, 2]})
    session.add(run)
    session.flush()
    f = m.File(repository_id=r.id, path="a/b.sql", sha256="0" * 64, size=10, dialect="tsql", run_id=run.id)
    session.add(f)
    session.flush()
    o = m.CatalogObject(
        project_id=p.id,
        canonical_id="db.dbo.trades",
        database="db",
        schema="dbo",
        name="trades",
        kind="table",
        definition="CREATE TABLE trades (id int)",
        file_id=f.id,
        line_start=1,
        line_end=3,
        diagnostics=[{"code": "x", "message": "y"}],
    )
    session.add(o)
    session.flush()
    c1 = m.Column(object_id=o.id, name="id", ordinal=1, data_type="int")
    c2 = m.Column(object_id=o.id, name="amount", ordinal=2, data_type="decimal(18,2)")
    session.add_all([c1, c2])
    session.flush()
    session.add(
        m.ColumnEdge(
            project_id=p.id,
            source_column_id=c1.id,
            target_column_id=c2.id,
            kind="indirect",
            expression="SUM(id)",
            file_id=f.id,
            confidence=0.5,
            origin="inferred",
            status="approved",
            run_id=run.id,
        )
    )
    session.add(m.TableEdge(project_id=p.id, source_object_id=o.id, target_object_id=o.id))
    vec = [i / 384 for i in range(384)]
    session.add(m.CodeChunk(project_id=p.id, object_id=o.id, file_id=f.id, text="select 1", embedding=vec))
    session.add(m.ActivityEvent(type="http", method="GET", route="/x", status_code=200, data={"a": 1}))
    session.add(m.ApiKey(name="k", role="admin", key_hash="a" * 64, prefix="flk_abcd"))
    session.add(m.StatsSnapshot(counts={"objects": 1}))
    session.commit()
    session.expunge_all()

    run2 = session.scalar(select(m.Run))
    assert run2.params == {"dialect": "tsql", "n": [1, 2]}
    assert run2.status == "queued" and len(run2.ingestion_id) == 36
    assert run2.created_at.tzinfo is not None
    assert abs(run2.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    obj = session.scalar(select(m.CatalogObject))
    assert [c.name for c in obj.columns] == ["id", "amount"]
    assert obj.diagnostics == [{"code": "x", "message": "y"}]
    edge = session.scalar(select(m.ColumnEdge))
    assert (edge.kind, edge.origin, edge.status, edge.confidence) == ("indirect", "inferred", "approved", 0.5)
    chunk = session.scalar(select(m.CodeChunk))
    assert chunk.embedding is not None and len(chunk.embedding) == 384
    assert chunk.embedding[383] == pytest.approx(383 / 384, rel=1e-6)
    key = session.scalar(select(m.ApiKey))
    assert key.revoked is False and key.last_used_at is None
    assert session.scalar(select(m.StatsSnapshot)).counts == {"objects": 1}
    assert session.scalar(select(m.TableEdge)).status == "observed"


def test_naive_datetimes_are_utc(session):
    session.add(m.ActivityEvent(type="t", ts=datetime(2024, 1, 2, 3, 4, 5)))
    session.commit()
    session.expunge_all()
    ev = session.scalar(select(m.ActivityEvent))
    assert ev.ts == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_check_constraint(session):
    session.add(m.Project(name="p"))
    session.flush()
    session.add(m.Repository(project_id=1, name="r", kind="ftp"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_unique_canonical_per_project(session):
    a, b = m.Project(name="a"), m.Project(name="b")
    session.add_all([a, b])
    session.flush()
    session.add_all(
        [
            m.CatalogObject(project_id=a.id, canonical_id="x.t", name="t"),
            m.CatalogObject(project_id=b.id, canonical_id="x.t", name="t"),
        ]
    )
    session.flush()
    session.add(m.CatalogObject(project_id=a.id, canonical_id="x.t", name="t"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_cascade(session):
    p = m.Project(name="p")
    session.add(p)
    session.flush()
    o = m.CatalogObject(project_id=p.id, canonical_id="t", name="t")
    session.add(o)
    session.flush()
    session.add(m.Column(object_id=o.id, name="c"))
    session.commit()
    session.delete(session.get(m.Project, p.id))
    session.commit()
    assert session.scalar(select(m.Column)) is None
    session.add(m.Column(object_id=12345, name="orphan"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_embedding_dimension_checked(session):
    p = m.Project(name="p")
    session.add(p)
    session.flush()
    session.add(m.CodeChunk(project_id=p.id, text="x", embedding=[1.0, 2.0]))
    with pytest.raises(Exception, match="384"):
        session.flush()
