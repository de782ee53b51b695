"""Column references with a struct field path are split at the table, not at the last dot."""

from __future__ import annotations

from finlineage.store import repositories as repo

from .helpers import make_project


def test_nested_ref_split_by_given_tables_and_by_stored_objects(session):
    pid = make_project(session)
    ids = repo.ensure_column_refs(session, pid, ["ds.orders.cust.addr.city"], tables=["ds.orders"])
    col = repo.get_column(session, ids["ds.orders.cust.addr.city"])
    assert col.name == "cust.addr.city" and col.object.canonical_id == "ds.orders"
    # without the caller's tables, an object the store already holds is the table
    more = repo.ensure_column_refs(session, pid, ["ds.orders.cust.id", "ds.other.x"])
    assert repo.get_column(session, more["ds.orders.cust.id"]).name == "cust.id"
    assert repo.get_column(session, more["ds.other.x"]).object.canonical_id == "ds.other"
    assert repo.get_object_by_canonical(session, pid, "ds.orders.cust") is None
    assert repo.get_object_by_canonical(session, pid, "ds.orders.cust.addr") is None
    found = repo.get_column_by_ref(session, pid, "ds.orders.cust.addr.city")
    assert found is not None and found.id == ids["ds.orders.cust.addr.city"]
    # an unknown prefix still splits at the last dot
    plain = repo.ensure_column_refs(session, pid, ["x.y.z"])
    assert repo.get_column(session, plain["x.y.z"]).object.canonical_id == "x.y"
