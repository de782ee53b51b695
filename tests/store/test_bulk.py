from __future__ import annotations

from finlineage.lineage.model import ColumnDef
from finlineage.query.stats import compute_stats
from finlineage.store import repositories as repo

from .helpers import make_project


def test_bulk_ingest_10k_objects(session):
    """10,000 objects x 8 columns + 20,000 column edges + 10,000 table edges, bulk paths only."""
    pid = make_project(session)
    src = repo.create_repository(session, pid, "s")
    f, _ = repo.record_file(session, src.id, "big.sql", "f" * 64)
    specs = [
        repo.ObjectSpec(
            f"dw.s{i % 50}.t{i}",
            "table",
            f"CREATE TABLE t{i} (...)",
            file_id=f.id,
            columns=tuple(ColumnDef(f"c{k}", k + 1, "int") for k in range(8)),
        )
        for i in range(10_000)
    ]
    ids = repo.ensure_objects(session, pid, specs)
    refs = [f"dw.s{i % 50}.t{i}.c{k}" for i in range(10_000) for k in range(2)]
    cols = repo.ensure_column_refs(session, pid, refs)
    col_edges = [
        {"source_column_id": cols[refs[i]], "target_column_id": cols[refs[i + 2]], "expression": "x"}
        for i in range(len(refs) - 2)
    ]
    n = repo.insert_column_edges(session, pid, col_edges, file_id=f.id)
    tab_edges = [
        {
            "source_object_id": ids[specs[i].canonical_id][0],
            "target_object_id": ids[specs[i + 1].canonical_id][0],
        }
        for i in range(len(specs) - 1)
    ]
    repo.insert_table_edges(session, pid, tab_edges, file_id=f.id)
    session.commit()
    assert n == len(refs) - 2
    assert compute_stats(session, pid)["columns"] == 80_000
    # replacing the file's facts removes exactly what it produced
    res = repo.delete_facts_by_file(session, f.id)
    session.commit()
    assert res.column_edges == n and res.objects_demoted == 10_000
