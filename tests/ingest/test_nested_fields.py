"""Nested struct fields (`tbl.col.field`) are columns `col.field` of `tbl`, never a phantom
table `tbl.col`; every stored column edge carries its OpenLineage subtype."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Graph, upload

BQ_DDL = b"""CREATE TABLE ds.customers (
  id INT64,
  address STRUCT<city STRING, zip STRING>
);
"""
BQ_REPORT = b"""CREATE TABLE ds.report AS
SELECT c.id, c.address.city AS city, UPPER(c.address.zip) AS zip
FROM ds.customers AS c;
"""
SPARK = b"""CREATE TABLE lake.events (id INT, payload STRUCT<user: STRUCT<name: STRING>, amount: DOUBLE>);
INSERT INTO lake.event_users
SELECT e.id, e.payload.user.name AS user_name, e.payload.amount * 2 AS amount2
FROM lake.events e;
"""


def test_nested_fields_are_columns_of_their_table(client: TestClient, graph: Graph) -> None:
    res = upload(client, [("bq/ddl.sql", BQ_DDL), ("bq/report.sql", BQ_REPORT)], dialect="bigquery").json()
    assert res["files_failed"] == 0
    names = {n for n, _ in graph.nodes()}
    assert "ds.customers.address" not in names
    assert not graph.rows("SELECT canonical_id FROM objects WHERE canonical_id LIKE 'ds.customers.%'")
    edges = graph.column_edges()
    assert ("ds.customers.address.city", "ds.report.city") in edges
    assert ("ds.customers.address.zip", "ds.report.zip") in edges
    owner = graph.rows(
        "SELECT o.canonical_id FROM columns c JOIN objects o ON o.id = c.object_id "
        "WHERE c.name = 'address.city'"
    )
    assert owner == [("ds.customers",)]


def test_nested_fields_spark_path_of_two_fields(client: TestClient, graph: Graph) -> None:
    res = upload(client, [("spark/job.sql", SPARK)], dialect="spark").json()
    assert res["files_failed"] == 0
    assert not graph.rows("SELECT canonical_id FROM objects WHERE canonical_id LIKE 'lake.events.%'")
    edges = graph.column_edges()
    assert ("lake.events.payload.user.name", "lake.event_users.user_name") in edges
    assert ("lake.events.payload.amount", "lake.event_users.amount2") in edges
    cols = {
        r[0]
        for r in graph.rows(
            "SELECT c.name FROM columns c JOIN objects o ON o.id = c.object_id "
            "WHERE o.canonical_id = 'lake.events'"
        )
    }
    assert {"payload.user.name", "payload.amount"} <= cols
