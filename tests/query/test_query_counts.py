"""No N+1: graph reads issue a constant number of SQL statements whatever the graph size."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from finlineage.lineage.model import ColumnDef
from finlineage.query import catalog, lineage
from finlineage.query.common import PageParams, Scope
from finlineage.query.export import export
from finlineage.store import repositories as store
from finlineage.store.models import Column
from finlineage.store.repositories import ObjectSpec

NCOL, FANIN = 3, 3


def _layered(session: Session, layers: int, width: int) -> None:
    rnd = random.Random(7)
    p = store.create_project(session, f"layered-{layers}x{width}")
    specs = [
        ObjectSpec(f"l{layer}.t{i}", "table", columns=tuple(ColumnDef(f"c{k}", k + 1) for k in range(NCOL)))
        for layer in range(layers)
        for i in range(width)
    ]
    ids = {c: o for c, (o, _) in store.ensure_objects(session, p.id, specs).items()}
    cols = {
        (oid, n): cid
        for cid, oid, n in session.execute(
            select(Column.id, Column.object_id, Column.name).where(Column.object_id.in_(list(ids.values())))
        )
    }
    te, ce = [], []
    for layer in range(1, layers):
        for i in range(width):
            tgt = ids[f"l{layer}.t{i}"]
            for j in rnd.sample(range(width), min(FANIN, width)):
                src = ids[f"l{layer - 1}.t{j}"]
                te.append({"source_object_id": src, "target_object_id": tgt, "process_object_id": src})
                ce += [
                    {"source_column_id": cols[(src, f"c{k}")], "target_column_id": cols[(tgt, f"c{k}")]}
                    for k in range(NCOL)
                ]
    store.insert_table_edges(session, p.id, te)
    store.insert_column_edges(session, p.id, ce)
    session.commit()


@contextmanager
def _counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def hook(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


READS: dict[str, Callable[[Session, int], object]] = {
    "node_up_table": lambda s, n: lineage.node_lineage(s, f"l{n - 1}.t0", "upstream", depth=10),
    "node_up_column": lambda s, n: lineage.node_lineage(
        s, f"l{n - 1}.t0", "upstream", depth=10, granularity="column"
    ),
    "column_up": lambda s, n: lineage.column_lineage(s, f"l{n - 1}.t0.c0", "upstream", depth=10),
    "node_down": lambda s, n: lineage.node_lineage(s, "l0.t0", "downstream", depth=10),
    "impact": lambda s, n: lineage.impact(s, "l0.t0", depth=10),
    "path": lambda s, n: lineage.find_path(s, "l0.t0", f"l{n - 1}.t0", max_depth=20),
    "detail": lambda s, n: catalog.node_detail(s, "l1.t0"),
    "nodes": lambda s, n: catalog.list_nodes(s, Scope(), PageParams(limit=500)),
    "edges": lambda s, n: catalog.list_edges(s, Scope(), PageParams(limit=500), granularity="column"),
    "export": lambda s, n: export(s, "openlineage", Scope()),
}


@pytest.mark.parametrize("read", sorted(READS))
def test_statement_count_does_not_grow_with_the_graph(
    read: str, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    counts = []
    for layers, width in ((4, 4), (12, 40)):
        with session_factory() as s:
            store.delete_project(s, -1)  # no-op; keeps the session warm
            _layered(s, layers, width)
        with session_factory() as s, _counting(engine) as seen:
            READS[read](s, layers)
            counts.append(len(seen))
        with session_factory() as s:
            for p in store.list_projects(s):
                store.delete_project(s, p.id)
            s.commit()
    small, large = counts
    assert large <= small + 1, (read, counts)
    assert large <= 12, (read, counts)
