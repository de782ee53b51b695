"""Single-statement write rules: DELETE/TRUNCATE, OUTPUT ... INTO, hints, compound assignment,
scalar subqueries, sequences, ON CONFLICT, Oracle MERGE / INSERT ALL, BigQuery LOAD DATA,
ML.PREDICT and UNNEST (own SQL, per dialect)."""

from __future__ import annotations

import pytest

from finlineage.lineage import extract
from finlineage.lineage.model import StatementLineage

from .helpers import codes, direct, indirect

_S = {
    "ops.orders": {"order_id": "int", "amount": "int", "cust_id": "int"},
    "ops.order_log": {"order_id": "int", "amount": "int"},
    "ops.staging": {"order_id": "int", "amount": "int", "cust_id": "int"},
}


def _one(sql: str, dialect: str = "tsql", schema: object = _S) -> StatementLineage:
    res = extract(sql, dialect, schema=schema)  # type: ignore[arg-type]
    assert len(res.statements) == 1, res.statements
    return res.statements[0]


# ------------------------------------------------------------------ DELETE / TRUNCATE
@pytest.mark.parametrize(
    "hint", ["", " WITH (NOLOCK)", " WITH (ROWLOCK)", " WITH (TABLOCK)", " WITH (SNAPSHOT)"]
)
def test_delete_with_hints_is_a_write_of_its_table(hint: str) -> None:
    st = _one(f"DELETE FROM ops.orders{hint} WHERE amount < 0")
    assert st.type == "delete"
    assert st.target_tables == ("ops.orders",)


def test_delete_by_alias_with_a_join_reads_the_other_table() -> None:
    st = _one("DELETE l FROM ops.orders o WITH (NOLOCK) JOIN ops.order_log l ON l.order_id = o.order_id")
    assert st.type == "delete"
    assert st.target_tables == ("ops.order_log",)
    assert st.source_tables == ("ops.orders",)


@pytest.mark.parametrize("dialect", ["postgres", "tsql", "snowflake", "bigquery"])
def test_truncate_is_a_write(dialect: str) -> None:
    st = _one("TRUNCATE TABLE ops.staging", dialect)
    assert (st.type, st.target_tables) == ("truncate", ("ops.staging",))


def test_postgres_delete_using() -> None:
    st = _one("DELETE FROM ops.orders o USING ops.staging s WHERE s.order_id = o.order_id", "postgres")
    assert st.target_tables == ("ops.orders",)
    assert st.source_tables == ("ops.staging",)


# ------------------------------------------------------------------ OUTPUT ... INTO
def test_delete_output_deleted_star_into_table_with_columns() -> None:
    st = _one(
        "DELETE FROM ops.orders OUTPUT deleted.order_id, deleted.amount INTO ops.order_log (order_id, amount) WHERE cust_id = 7"
    )
    assert st.type == "delete"
    assert set(st.target_tables) == {"ops.orders", "ops.order_log"}
    assert direct(st) == {
        "ops.order_log.order_id": {"ops.orders.order_id"},
        "ops.order_log.amount": {"ops.orders.amount"},
    }


def test_delete_output_star_into_table_variable_expands_with_schema() -> None:
    sql = "DELETE FROM ops.orders OUTPUT deleted.* INTO @gone WHERE amount = 0"
    st = _one(sql, schema={"ops.orders": {"order_id": "int", "amount": "int"}})
    assert "@gone" in st.target_tables
    assert direct(st) == {"@gone.order_id": {"ops.orders.order_id"}, "@gone.amount": {"ops.orders.amount"}}


def test_insert_output_inserted_into_audit() -> None:
    st = _one(
        "INSERT INTO ops.orders (order_id, amount) OUTPUT inserted.order_id, inserted.amount "
        "INTO ops.order_log (order_id, amount) SELECT order_id, amount FROM ops.staging"
    )
    got = direct(st)
    assert got["ops.orders.amount"] == {"ops.staging.amount"}
    assert got["ops.order_log.amount"] == {"ops.orders.amount"}


def test_update_output_into_and_merge_output_into() -> None:
    st = _one(
        "UPDATE ops.orders SET amount = amount * 2 OUTPUT inserted.order_id, deleted.amount "
        "INTO ops.order_log (order_id, amount) WHERE cust_id = 1"
    )
    assert direct(st)["ops.order_log.amount"] == {"ops.orders.amount"}
    st = _one(
        "MERGE INTO ops.orders AS t USING ops.staging AS s ON t.order_id = s.order_id "
        "WHEN MATCHED THEN UPDATE SET amount = s.amount "
        "OUTPUT inserted.order_id, s.amount INTO ops.order_log (order_id, amount);"
    )
    got = direct(st)
    assert got["ops.order_log.order_id"] == {"ops.orders.order_id"}
    assert got["ops.order_log.amount"] == {"ops.staging.amount"}
    st = _one(
        "MERGE INTO ops.orders AS t USING ops.staging AS s ON t.order_id = s.order_id "
        "WHEN NOT MATCHED THEN INSERT (order_id, amount) VALUES (s.order_id, s.amount) "
        "OUTPUT $action, inserted.amount INTO @changes (act, amt);"
    )
    got = direct(st)
    assert got["@changes.act"] == set()
    assert got["@changes.amt"] == {"ops.orders.amount"}


def test_output_without_into_writes_nothing_more() -> None:
    st = _one("DELETE FROM ops.orders OUTPUT deleted.order_id WHERE amount < 0")
    assert st.target_tables == ("ops.orders",)
    assert direct(st) == {}


# ------------------------------------------------------------------ hints never lose an edge
@pytest.mark.parametrize("hint", ["NOLOCK", "TABLOCK", "ROWLOCK", "SNAPSHOT"])
def test_hints_keep_every_edge(hint: str) -> None:
    st = _one(
        f"INSERT INTO ops.order_log WITH ({hint}) (order_id, amount) "
        f"SELECT o.order_id, s.amount FROM ops.orders o WITH ({hint}) JOIN ops.staging s WITH ({hint}) "
        "ON s.order_id = o.order_id"
    )
    assert direct(st) == {
        "ops.order_log.order_id": {"ops.orders.order_id"},
        "ops.order_log.amount": {"ops.staging.amount"},
    }
    assert indirect(st)["ops.order_log.amount"] == {"ops.orders.order_id", "ops.staging.order_id"}


# ------------------------------------------------------------------ compound assignment (UPDATE SET)
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%", "&", "|", "^"])
def test_update_compound_assignment_keeps_the_prior_value(op: str) -> None:
    st = _one(
        f"UPDATE o SET o.amount {op}= s.amount FROM ops.orders o JOIN ops.staging s ON s.order_id = o.order_id"
    )
    assert direct(st)["ops.orders.amount"] == {"ops.orders.amount", "ops.staging.amount"}
    edge = next(e for e in st.column_edges if e.kind == "direct" and e.target == "ops.orders.amount")
    assert f" {op} " in edge.expression
    assert "" not in {e.target.rsplit(".", 1)[-1] for e in st.column_edges}


# ------------------------------------------------------------------ scalar subqueries
def test_values_scalar_subqueries_are_sources() -> None:
    st = _one(
        "INSERT INTO ops.order_log (order_id, amount) VALUES "
        "((SELECT MAX(order_id) FROM ops.orders), (SELECT SUM(amount) FROM ops.staging))"
    )
    assert direct(st) == {
        "ops.order_log.order_id": {"ops.orders.order_id"},
        "ops.order_log.amount": {"ops.staging.amount"},
    }
    assert set(st.source_tables) == {"ops.orders", "ops.staging"}


def test_set_scalar_subquery_and_subquery_inside_case() -> None:
    st = _one(
        "UPDATE ops.orders SET amount = CASE WHEN cust_id > 0 THEN "
        "(SELECT MAX(s.amount) FROM ops.staging s WHERE s.order_id = ops.orders.order_id) ELSE 0 END",
        "postgres",
    )
    assert direct(st)["ops.orders.amount"] >= {"ops.staging.amount", "ops.orders.cust_id"}


# ------------------------------------------------------------------ sequences, phantoms
def test_next_value_for_gives_no_column_and_no_ambiguity() -> None:
    res = extract(
        "INSERT INTO ops.order_log (order_id, amount) SELECT NEXT VALUE FOR ops.seq_log, s.amount "
        "FROM ops.staging s JOIN ops.orders o ON o.order_id = s.order_id",
        "tsql",
        schema=_S,
    )
    st = res.statements[0]
    assert direct(st)["ops.order_log.order_id"] == set()
    assert "ambiguous_column" not in codes(res)
    assert not any("seq_log" in s for e in st.column_edges for s in e.sources)


@pytest.mark.parametrize("dialect", ["oracle", "snowflake"])
def test_sequence_nextval_pseudo_column(dialect: str) -> None:
    st = _one(
        "INSERT INTO ops.order_log (order_id, amount) SELECT seq_log.NEXTVAL, amount FROM ops.staging",
        dialect,
    )
    assert direct(st) == {"ops.order_log.order_id": set(), "ops.order_log.amount": {"ops.staging.amount"}}


@pytest.mark.parametrize("sql", ["SELECT setval('ops.seq_log', 100)", "SELECT nextval('ops.seq_log')"])
def test_sequence_functions_are_not_lineage_targets(sql: str) -> None:
    st = _one(sql, "postgres", schema={})
    assert st.column_edges == ()
    assert st.target_tables == ()


# ------------------------------------------------------------------ ON CONFLICT / MERGE / INSERT ALL
def test_postgres_on_conflict_do_update_column_lineage() -> None:
    st = _one(
        "INSERT INTO ops.orders AS o (order_id, amount) SELECT order_id, amount FROM ops.staging "
        "ON CONFLICT (order_id) DO UPDATE SET amount = o.amount + EXCLUDED.amount WHERE o.cust_id IS NOT NULL",
        "postgres",
    )
    edges = [e for e in st.column_edges if e.target == "ops.orders.amount" and e.kind == "direct"]
    assert {tuple(e.sources) for e in edges} == {
        ("ops.staging.amount",),
        ("ops.orders.amount", "ops.staging.amount"),
    }
    assert any(e.kind == "indirect" and e.sources == ("ops.orders.cust_id",) for e in st.column_edges)


def test_mysql_on_duplicate_key_update_values() -> None:
    st = _one(
        "INSERT INTO ops.orders (order_id, amount) SELECT order_id, amount FROM ops.staging "
        "ON DUPLICATE KEY UPDATE amount = amount + VALUES(amount)",
        "mysql",
    )
    assert direct(st)["ops.orders.amount"] == {"ops.staging.amount", "ops.orders.amount"}


def test_oracle_merge_and_insert_all() -> None:
    st = _one(
        "MERGE INTO ops.orders t USING (SELECT order_id, amount FROM ops.staging) s ON (t.order_id = s.order_id) "
        "WHEN MATCHED THEN UPDATE SET t.amount = s.amount "
        "WHEN NOT MATCHED THEN INSERT (order_id, amount) VALUES (s.order_id, s.amount)",
        "oracle",
    )
    assert direct(st) == {
        "ops.orders.amount": {"ops.staging.amount"},
        "ops.orders.order_id": {"ops.staging.order_id"},
    }
    st = _one(
        "INSERT ALL INTO ops.orders (order_id, amount) VALUES (oid, amt) "
        "INTO ops.order_log (order_id, amount) VALUES (oid, amt) "
        "SELECT order_id AS oid, amount AS amt FROM ops.staging",
        "oracle",
    )
    assert set(st.target_tables) == {"ops.orders", "ops.order_log"}
    assert direct(st)["ops.order_log.amount"] == {"ops.staging.amount"}


# ------------------------------------------------------------------ BigQuery
def test_bigquery_load_data_overwrite_is_a_write_with_columns() -> None:
    st = _one(
        "LOAD DATA OVERWRITE ops.raw_rates (ccy STRING, rate FLOAT64) "
        "FROM FILES (format = 'CSV', uris = ['gs://bucket/rates/*.csv'])",
        "bigquery",
        schema={},
    )
    assert st.target_tables == ("ops.raw_rates",)
    assert direct(st) == {"ops.raw_rates.ccy": set(), "ops.raw_rates.rate": set()}
    assert st.source_paths == ("gs://bucket/rates/*.csv",)


def test_bigquery_ml_predict_alias_is_not_a_table() -> None:
    st = _one(
        "INSERT INTO ops.scores SELECT p.order_id, p.predicted_amount FROM "
        "ML.PREDICT(MODEL ops.amount_model, (SELECT order_id, cust_id FROM ops.orders)) AS p",
        "bigquery",
    )
    assert set(st.source_tables) == {"ops.orders", "ops.amount_model"}  # the model is read too
    assert direct(st) == {
        "ops.scores.order_id": {"ops.orders.order_id"},
        "ops.scores.predicted_amount": set(),
    }
    assert not any(s.startswith("p.") for e in st.column_edges for s in e.sources)


def test_bigquery_unnest_alias_columns_come_from_the_array() -> None:
    schema = {"ops.baskets": {"basket_id": "int", "lines": "array"}}
    st = _one(
        "INSERT INTO ops.basket_lines SELECT b.basket_id, line.sku, line FROM ops.baskets b, UNNEST(b.lines) AS line",
        "bigquery",
        schema=schema,
    )
    assert direct(st) == {
        "ops.basket_lines.basket_id": {"ops.baskets.basket_id"},
        "ops.basket_lines.sku": {"ops.baskets.lines.sku"},
        "ops.basket_lines.line": {"ops.baskets.lines"},
    }


def test_update_row_assignment_from_a_subquery_is_positional() -> None:
    schema = {
        "gl.acct": {"id": "int", "bal": "int", "touched": "ts"},
        "gl.tx": {"acct_id": "int", "amt": "int", "ts": "ts"},
    }
    st = _one(
        "UPDATE gl.acct SET (bal, touched) = (SELECT SUM(amt), MAX(ts) FROM gl.tx WHERE gl.tx.acct_id = gl.acct.id)",
        "postgres",
        schema=schema,
    )
    assert direct(st) == {"gl.acct.bal": {"gl.tx.amt"}, "gl.acct.touched": {"gl.tx.ts"}}


def test_snowflake_flatten_columns_come_from_the_input() -> None:
    schema = {"raw.baskets": {"id": "int", "lines": "variant"}}
    for sql in (
        "SELECT b.id, f.value AS v FROM raw.baskets b, LATERAL FLATTEN(input => b.lines) f",
        "SELECT b.id, f.value AS v FROM raw.baskets b, TABLE(FLATTEN(b.lines)) f",
    ):
        st = _one(sql, "snowflake", schema=schema)
        assert direct(st) == {"id": {"raw.baskets.id"}, "v": {"raw.baskets.lines"}}, sql


def test_tsql_delete_with_two_froms_and_top() -> None:
    st = _one("DELETE FROM ops.orders FROM ops.orders o INNER JOIN ops.staging s ON s.order_id = o.order_id")
    assert (st.type, st.target_tables, st.source_tables) == ("delete", ("ops.orders",), ("ops.staging",))
    st = _one("DELETE TOP (500) FROM ops.orders WHERE amount IS NULL")
    assert st.target_tables == ("ops.orders",)
    assert st.source_tables == ()


def test_tsql_top_on_update_and_insert_keeps_the_edges() -> None:
    st = _one(
        "UPDATE TOP (10) ops.orders SET amount = s.amount FROM ops.staging s WHERE s.order_id = ops.orders.order_id"
    )
    assert direct(st) == {"ops.orders.amount": {"ops.staging.amount"}}
    st = _one(
        "INSERT TOP (10) INTO ops.order_log (order_id, amount) SELECT order_id, amount FROM ops.staging"
    )
    assert direct(st)["ops.order_log.amount"] == {"ops.staging.amount"}


def test_mysql_multi_table_delete_writes_each_named_table() -> None:
    st = _one(
        "DELETE o, l FROM ops.orders o JOIN ops.order_log l ON l.order_id = o.order_id WHERE o.amount = 0",
        "mysql",
    )
    assert set(st.target_tables) == {"ops.orders", "ops.order_log"}


@pytest.mark.parametrize(
    ("dialect", "pseudo"),
    [("oracle", "ROWNUM"), ("oracle", "USER"), ("bigquery", "_TABLE_SUFFIX"), ("tsql", "@@IDENTITY")],
)
def test_pseudo_columns_are_no_sources_and_no_ambiguity(dialect: str, pseudo: str) -> None:
    res = extract(
        f"INSERT INTO ops.order_log (order_id, amount) SELECT {pseudo}, s.amount "
        "FROM ops.staging s JOIN ops.orders o ON o.order_id = s.order_id",
        dialect,
    )
    st = res.statements[0]
    assert direct(st)["ops.order_log.order_id"] == set()
    assert not {"ambiguous_column", "unresolved_column"} & codes(res)


def test_oracle_truncate_with_storage_clause() -> None:
    st = _one("TRUNCATE TABLE ops.staging REUSE STORAGE", "oracle")
    assert (st.type, st.target_tables) == ("truncate", ("ops.staging",))


def test_delete_from_table_keyword() -> None:
    st = _one("DELETE FROM TABLE staging_rows", "", schema={})
    assert st.target_tables == ("staging_rows",)


def test_teradata_title_format_named_attributes() -> None:
    st = _one(
        "CREATE VIEW hr.v_staff AS SELECT Name, Dob (TITLE 'Birth date'), Sal (FORMAT 'ZZZ9') (NAMED pay) FROM hr.staff",
        "teradata",
        schema={},
    )
    assert direct(st) == {
        "hr.v_staff.name": {"hr.staff.name"},
        "hr.v_staff.dob": {"hr.staff.dob"},
        "hr.v_staff.pay": {"hr.staff.sal"},
    }


def test_snowflake_clone_copies_columns() -> None:
    st = _one("CREATE OR REPLACE TABLE ops.orders_bak CLONE ops.orders", "snowflake")
    assert st.source_tables == ("ops.orders",)
    assert direct(st)["ops.orders_bak.amount"] == {"ops.orders.amount"}


def test_hive_from_first_multi_insert() -> None:
    st = _one(
        "FROM ops.staging INSERT OVERWRITE TABLE ops.orders SELECT order_id, amount, cust_id WHERE amount > 0 "
        "INSERT INTO TABLE ops.order_log SELECT order_id, amount",
        "hive",
    )
    assert set(st.target_tables) == {"ops.orders", "ops.order_log"}
    assert st.source_tables == ("ops.staging",)
    assert direct(st)["ops.order_log.amount"] == {"ops.staging.amount"}
    assert indirect(st)["ops.orders.amount"] == {"ops.staging.amount"}


def test_unaliased_expressions_get_positional_names_never_sql_text() -> None:
    res = extract(
        "INSERT INTO ops.totals SELECT cust_id, COALESCE((SELECT MAX(s.amount) FROM ops.staging s), 0), SUM(amount) "
        "FROM ops.orders GROUP BY cust_id",
        "tsql",
    )
    st = res.statements[0]
    assert set(direct(st)) == {"ops.totals.cust_id", "ops.totals._col_1", "ops.totals._col_2"}
    assert direct(st)["ops.totals._col_1"] == {"ops.staging.amount"}
    edge = next(e for e in st.column_edges if e.target == "ops.totals._col_1")
    assert edge.expression.startswith("COALESCE(")


def test_bigquery_unnest_with_offset_position_has_no_source() -> None:
    res = extract(
        "INSERT INTO ops.basket_pos SELECT b.basket_id, line, pos FROM ops.baskets b, UNNEST(b.lines) AS line WITH OFFSET AS pos",
        "bigquery",
        schema={"ops.baskets": {"basket_id": "int", "lines": "array"}},
    )
    st = res.statements[0]
    assert direct(st)["ops.basket_pos.pos"] == set()
    assert direct(st)["ops.basket_pos.line"] == {"ops.baskets.lines"}
    assert "unresolved_column" not in codes(res)


def test_delete_and_update_through_a_cte_write_its_base_table() -> None:
    st = _one(
        "WITH d AS (SELECT order_id, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY amount DESC) AS rn "
        "FROM ops.orders) DELETE FROM d WHERE rn > 1"
    )
    assert (st.type, st.target_tables) == ("delete", ("ops.orders",))
    st = _one(
        "WITH u AS (SELECT order_id, amount AS amt FROM ops.orders WHERE cust_id = 0) "
        "UPDATE u SET amt = s.amount FROM u JOIN ops.staging s ON s.order_id = u.order_id"
    )
    assert st.target_tables == ("ops.orders",)
    assert direct(st) == {"ops.orders.amount": {"ops.staging.amount"}}


def test_update_through_a_derived_table_alias() -> None:
    st = _one("UPDATE x SET amount = 0 FROM (SELECT order_id, amount FROM ops.orders WHERE cust_id = 9) x")
    assert st.target_tables == ("ops.orders",)
    assert direct(st) == {"ops.orders.amount": set()}


def test_tsql_identity_function_in_select_into_is_no_column() -> None:
    res = extract(
        "SELECT IDENTITY(INT, 1, 1) AS row_id, s.amount INTO #numbered FROM ops.staging s JOIN ops.orders o ON o.order_id = s.order_id",
        "tsql",
    )
    st = res.statements[0]
    assert direct(st) == {"#numbered.row_id": set(), "#numbered.amount": {"ops.staging.amount"}}
    assert "ambiguous_column" not in codes(res)


def test_delete_by_alias_with_output_from_both_tables() -> None:
    schema = {**_S, "ops.archive": {"order_id": "int", "amount": "int", "src_amount": "int"}}
    st = _one(
        "DELETE l OUTPUT deleted.order_id, deleted.amount, o.amount INTO ops.archive (order_id, amount, src_amount) "
        "FROM ops.orders o JOIN ops.order_log l ON l.order_id = o.order_id",
        schema=schema,
    )
    assert set(st.target_tables) == {"ops.order_log", "ops.archive"}
    assert direct(st) == {
        "ops.archive.order_id": {"ops.order_log.order_id"},
        "ops.archive.amount": {"ops.order_log.amount"},
        "ops.archive.src_amount": {"ops.orders.amount"},
    }


def test_mysql_replace_into_is_an_insert() -> None:
    st = _one(
        "REPLACE INTO ops.order_log (order_id, amount) SELECT order_id, amount FROM ops.staging", "mysql"
    )
    assert (st.type, st.target_tables, st.source_tables) == ("insert", ("ops.order_log",), ("ops.staging",))
    assert direct(st)["ops.order_log.amount"] == {"ops.staging.amount"}
