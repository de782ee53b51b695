from __future__ import annotations

import itertools

from finlineage.store import graph
from finlineage.store import repositories as repo

from .helpers import chain_columns, make_project


def _names(t: graph.Traversal) -> dict[str, int]:
    return {n.canonical_id: n.hop for n in t.nodes}


def test_chain_upstream_downstream_and_depth(session):
    pid = make_project(session)
    ids = chain_columns(
        session, pid, [("s.a.x", "s.b.x"), ("s.b.x", "s.c.x"), ("s.c.x", "s.d.x")], expression="x + 1"
    )
    up = graph.upstream(session, ids["s.d.x"], depth=10)
    assert _names(up) == {"s.d.x": 0, "s.c.x": 1, "s.b.x": 2, "s.a.x": 3}
    assert len(up.edges) == 3 and all(e.expression == "x + 1" for e in up.edges)
    assert {(e.source_id, e.target_id) for e in up.edges} == {
        (ids["s.a.x"], ids["s.b.x"]),
        (ids["s.b.x"], ids["s.c.x"]),
        (ids["s.c.x"], ids["s.d.x"]),
    }
    limited = graph.upstream(session, ids["s.d.x"], depth=2)
    assert _names(limited) == {"s.d.x": 0, "s.c.x": 1, "s.b.x": 2}
    assert len(limited.edges) == 2  # no edge leads beyond the depth bound
    down = graph.downstream(session, ids["s.b.x"], depth=1)
    assert _names(down) == {"s.b.x": 0, "s.c.x": 1}
    assert graph.upstream(session, ids["s.a.x"]).nodes[0].canonical_id == "s.a.x"
    assert graph.traverse(session, 987654).nodes == []


def test_diamond_min_hop_and_dedupe(session):
    pid = make_project(session)
    ids = chain_columns(
        session,
        pid,
        [("s.a.x", "s.b.x"), ("s.a.x", "s.c.x"), ("s.b.x", "s.d.x"), ("s.c.x", "s.d.x"), ("s.a.x", "s.d.x")],
    )
    up = graph.upstream(session, ids["s.d.x"], depth=5)
    assert _names(up) == {"s.d.x": 0, "s.b.x": 1, "s.c.x": 1, "s.a.x": 1}
    assert len(up.edges) == 5 and len({e.id for e in up.edges}) == 5
    down = graph.downstream(session, ids["s.a.x"], depth=5)
    assert _names(down) == {"s.a.x": 0, "s.b.x": 1, "s.c.x": 1, "s.d.x": 1}


def test_cycle_terminates(session):
    pid = make_project(session)
    ids = chain_columns(session, pid, [("s.a.x", "s.b.x"), ("s.b.x", "s.c.x"), ("s.c.x", "s.a.x")])
    up = graph.upstream(session, ids["s.a.x"], depth=50)
    assert _names(up) == {"s.a.x": 0, "s.c.x": 1, "s.b.x": 2}
    assert len(up.edges) == 3
    self_loop = chain_columns(session, pid, [("s.z.x", "s.z.x")])
    t = graph.downstream(session, self_loop["s.z.x"], depth=5)
    assert _names(t) == {"s.z.x": 0} and len(t.edges) == 1


def test_table_vs_column_granularity(session):
    pid = make_project(session)
    ids = chain_columns(session, pid, [("s.a.x", "s.b.x"), ("s.a.y", "s.b.y"), ("s.b.y", "s.c.z")])
    col = graph.downstream(session, ids["s.a.x"], depth=5)
    assert _names(col) == {"s.a.x": 0, "s.b.x": 1}  # column x never reaches c
    a = repo.get_object_by_canonical(session, pid, "s.a")
    tab = graph.downstream(session, a.id, granularity="table", depth=5)
    assert _names(tab) == {"s.a": 0, "s.b": 1, "s.c": 2}
    assert all(n.column_name is None for n in tab.nodes)
    multi = graph.downstream(session, [ids["s.a.x"], ids["s.a.y"]], depth=5)
    assert _names(multi) == {"s.a.x": 0, "s.a.y": 0, "s.b.x": 1, "s.b.y": 1, "s.c.z": 2}


def test_status_kind_and_project_filters(session):
    pid = make_project(session)
    ids = chain_columns(session, pid, [("s.a.x", "s.b.x")])
    ids |= chain_columns(session, pid, [("s.r.x", "s.b.x")], status="rejected")
    chain_columns(session, pid, [("s.i.x", "s.b.x")], kind="indirect", status="approved")
    up = graph.upstream(session, ids["s.b.x"])
    assert set(_names(up)) == {"s.b.x", "s.a.x", "s.i.x"}
    # None means the default (observed + approved) as in `edge_visibility`; rejected edges only
    # when named
    assert set(_names(graph.upstream(session, ids["s.b.x"], statuses=None))) == set(_names(up))
    assert set(_names(graph.upstream(session, ids["s.b.x"], statuses=graph.ALL_STATUSES))) == {
        "s.b.x",
        "s.a.x",
        "s.i.x",
        "s.r.x",
    }
    assert ids["s.r.x"] not in graph.reach(session, ids["s.b.x"], statuses=None)
    assert ids["s.r.x"] in graph.reach(session, ids["s.b.x"], statuses=graph.ALL_STATUSES)
    assert graph.path(session, ids["s.r.x"], ids["s.b.x"], statuses=None) is None
    assert graph.path(session, ids["s.r.x"], ids["s.b.x"], statuses=graph.ALL_STATUSES) is not None
    assert set(_names(graph.upstream(session, ids["s.b.x"], kinds=["direct"]))) == {"s.b.x", "s.a.x"}
    assert set(_names(graph.upstream(session, ids["s.b.x"], statuses=["approved"]))) == {"s.b.x", "s.i.x"}
    assert graph.upstream(session, ids["s.b.x"], project_id=pid + 1).nodes == []
    assert len(graph.upstream(session, ids["s.b.x"], project_id=pid).nodes) == 3


def test_max_nodes_truncates_nearest_first(session):
    pid = make_project(session)
    ids = chain_columns(session, pid, [(f"s.t{i}.x", f"s.t{i + 1}.x") for i in range(10)])
    t = graph.downstream(session, ids["s.t0.x"], depth=20, max_nodes=4)
    assert t.truncated and [n.hop for n in t.nodes] == [0, 1, 2, 3]
    assert len(t.edges) == 3


def test_path(session):
    pid = make_project(session)
    ids = chain_columns(
        session,
        pid,
        [
            ("s.a.x", "s.b.x"),
            ("s.b.x", "s.c.x"),
            ("s.c.x", "s.d.x"),
            ("s.a.x", "s.e.x"),
            ("s.e.x", "s.d.x"),
            ("s.d.x", "s.f.x"),
        ],
    )
    p = graph.path(session, ids["s.a.x"], ids["s.f.x"])
    assert p is not None and p.length == 3
    assert [n.canonical_id for n in p.nodes] == ["s.a.x", "s.e.x", "s.d.x", "s.f.x"]
    assert [n.hop for n in p.nodes] == [0, 1, 2, 3]
    assert [(e.source_id, e.target_id) for e in p.edges] == [
        (ids["s.a.x"], ids["s.e.x"]),
        (ids["s.e.x"], ids["s.d.x"]),
        (ids["s.d.x"], ids["s.f.x"]),
    ]
    assert graph.path(session, ids["s.f.x"], ids["s.a.x"]) is None  # against the flow
    assert graph.path(session, ids["s.a.x"], ids["s.f.x"], max_depth=2) is None
    same = graph.path(session, ids["s.a.x"], ids["s.a.x"])
    assert same is not None and same.length == 0
    a = repo.get_object_by_canonical(session, pid, "s.a")
    f = repo.get_object_by_canonical(session, pid, "s.f")
    tp = graph.path(session, a.id, f.id, granularity="table")
    assert tp is not None and tp.length == 3


def test_path_through_cycle(session):
    pid = make_project(session)
    ids = chain_columns(session, pid, [("s.a.x", "s.b.x"), ("s.b.x", "s.a.x"), ("s.b.x", "s.c.x")])
    p = graph.path(session, ids["s.a.x"], ids["s.c.x"])
    assert p is not None and [n.canonical_id for n in p.nodes] == ["s.a.x", "s.b.x", "s.c.x"]


def test_impact_grouped_by_hop_and_kind(session):
    pid = make_project(session)
    chain_columns(
        session,
        pid,
        [("s.src.x", "s.v1.x"), ("s.src.x", "s.t1.x"), ("s.v1.x", "s.v2.x"), ("s.t1.x", "s.v2.x")],
    )
    repo.upsert_object(session, pid, "s.v1", kind="view", definition="CREATE VIEW v1")
    repo.upsert_object(session, pid, "s.v2", kind="view", definition="CREATE VIEW v2")
    repo.upsert_object(session, pid, "s.t1", kind="table", definition="CREATE TABLE t1")
    src = repo.get_object_by_canonical(session, pid, "s.src")
    imp = graph.impact(session, src.id)
    assert imp.total == 3 and imp.by_kind == {"view": 2, "table": 1}
    assert {k: sorted(n.canonical_id for n in v) for k, v in imp.by_hop[1].items()} == {
        "view": ["s.v1"],
        "table": ["s.t1"],
    }
    assert [n.canonical_id for n in imp.by_hop[2]["view"]] == ["s.v2"]
    assert len(imp.edges) == 4
    assert graph.impact(session, src.id, depth=1).total == 2


def test_full_closure_by_default_with_truncation_counts(session):
    pid = make_project(session)
    names = [f"s.t{i:03d}.x" for i in range(81)]
    ids = chain_columns(session, pid, list(itertools.pairwise(names)))  # 80 hops: > one probe
    full = graph.upstream(session, ids[names[-1]])
    assert full.depth is None and len(full.nodes) == 81 and len(full.edges) == 80
    assert full.truncated is False and full.omitted == 0 and _names(full)[names[0]] == 80
    cut = graph.upstream(session, ids[names[-1]], depth=10)
    assert len(cut.nodes) == 11 and cut.truncated is True and cut.omitted == 70
    capped = graph.upstream(session, ids[names[-1]], max_nodes=5)
    assert len(capped.nodes) == 5 and capped.truncated is True and capped.omitted == 76
    assert max(n.hop for n in capped.nodes) == 4  # nearest hops kept
    exact = graph.upstream(session, ids[names[-1]], depth=80)
    assert exact.truncated is False and exact.omitted == 0
    loop = chain_columns(session, pid, [("s.p.x", "s.q.x"), ("s.q.x", "s.r.x"), ("s.r.x", "s.p.x")])
    around = graph.downstream(session, loop["s.p.x"])
    assert _names(around) == {"s.p.x": 0, "s.q.x": 1, "s.r.x": 2} and around.truncated is False
    assert len(graph.reach(session, ids[names[-1]])) == 81
    imp = graph.impact(session, graph.traverse(session, ids[names[0]]).nodes[0].object_id, max_nodes=3)
    assert imp.truncated is True and imp.total == 2 and imp.omitted == 78
