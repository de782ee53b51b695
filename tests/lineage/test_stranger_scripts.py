"""Bank scripts in the dialects our other suites cover least, with hand-derived column lineage
(statement shapes; routines with variables and cursors are in test_stranger_procedures.py): a
column alias list renaming a table's or CTE's columns, PL/pgSQL temp tables dropped at commit,
data-modifying CTEs and T-SQL composable DML, row-constructor unpivots through CROSS APPLY /
LATERAL (VALUES ...), Delta MERGE UPDATE SET * / INSERT *, MySQL upserts and CREATE ... SELECT,
Oracle DML through inline views, recursive CTEs, Spark TRANSFORM and TABLE shorthand."""

from __future__ import annotations

import pytest

from finlineage.lineage import extract

from .helpers import codes, direct, indirect, rollup_direct

_POSITIONS = "CREATE TABLE risk.positions (pos_id INT, book_id INT, amount NUMERIC, ccy CHAR(3));\n"


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "spark", "databricks", "redshift"])
def test_table_column_alias_list_renames_by_position(dialect: str) -> None:
    sql = _POSITIONS + (
        "INSERT INTO risk.pos_copy (id, amt, cur)\n"
        "SELECT p.pid, p.amt, p.ccy FROM risk.positions AS p (pid, bk, amt) WHERE p.bk = 7;\n"
    )
    res = extract(sql, dialect)
    load = res.statements[-1]
    # the list renames the first three columns; the fourth (ccy) keeps its name
    assert direct(load) == {
        "risk.pos_copy.id": {"risk.positions.pos_id"},
        "risk.pos_copy.amt": {"risk.positions.amount"},
        "risk.pos_copy.cur": {"risk.positions.ccy"},
    }
    assert indirect(load)["risk.pos_copy.id"] == {"risk.positions.book_id"}
    assert load.source_tables == ("risk.positions",)
    assert "AS p (pid, bk, amt)" in load.sql  # evidence is the text as written
    subtypes = {e.target: e.subtype for e in load.column_edges if e.kind == "direct"}
    assert subtypes["risk.pos_copy.amt"] == "IDENTITY"
    # nothing reads a phantom risk.positions.amt / .pid
    sources = {s for e in res.rollup.column_edges for s in e.sources}
    assert not sources & {"risk.positions.amt", "risk.positions.pid", "risk.positions.bk"}


def test_column_alias_list_with_schema_and_unknown_table() -> None:
    sql = (
        "SELECT h.cp, h.amt FROM risk.holdings AS h (cp, amt);\n"
        "SELECT x.a, x.b FROM ref.unknown_tbl AS x (a, b);\n"
    )
    res = extract(sql, "postgres", schema={"risk.holdings": {"cpty_id": "int", "mv": "numeric"}})
    first, second = res.statements
    assert direct(first) == {"cp": {"risk.holdings.cpty_id"}, "amt": {"risk.holdings.mv"}}
    # columns nothing knows: read as written (the aliases cannot be mapped by position), said so
    assert direct(second) == {"a": {"ref.unknown_tbl.a"}, "b": {"ref.unknown_tbl.b"}}
    assert [d.code for d in second.diagnostics] == ["column_aliases_unmapped"]
    assert not first.diagnostics


PLPGSQL = """CREATE TABLE treasury.fx_rates (rate_date DATE, ccy CHAR(3), usd_rate NUMERIC);
CREATE TABLE treasury.trades (trade_id BIGINT, book_code TEXT, ccy CHAR(3), notional NUMERIC, trade_date DATE);

CREATE OR REPLACE FUNCTION treasury.load_usd_exposure(p_date DATE) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMP TABLE tmp_conv ON COMMIT DROP AS
    SELECT t.trade_id, t.book_code, t.notional * r.usd_rate AS usd_amt
    FROM treasury.trades t
    JOIN treasury.fx_rates r ON r.ccy = t.ccy AND r.rate_date = p_date;

    INSERT INTO treasury.book_exposure (book_code, usd_exposure, as_of)
    SELECT c.book_code, SUM(c.usd_amt), p_date FROM tmp_conv c GROUP BY c.book_code
    ON CONFLICT (book_code, as_of) DO UPDATE SET usd_exposure = EXCLUDED.usd_exposure;

    WITH moved AS (
        DELETE FROM treasury.trades WHERE trade_date < p_date - 30 RETURNING trade_id, book_code, notional
    )
    INSERT INTO treasury.trades_archive (trade_id, book_code, notional)
    SELECT trade_id, book_code, notional FROM moved;
END;
$$;
"""


def test_plpgsql_temp_table_on_commit_drop_is_collapsed() -> None:
    res = extract(PLPGSQL, "postgres")
    temp = next(s for s in res.statements if s.target_tables == ("tmp_conv",))
    assert temp.type == "create_table" and temp.line_start == 7
    assert direct(temp)["tmp_conv.usd_amt"] == {"treasury.trades.notional", "treasury.fx_rates.usd_rate"}
    assert "parse_error" not in codes(res)
    rolled = rollup_direct(res)
    assert rolled["treasury.book_exposure.usd_exposure"] == {
        "treasury.trades.notional",
        "treasury.fx_rates.usd_rate",
    }
    assert rolled["treasury.book_exposure.book_code"] == {"treasury.trades.book_code"}
    assert not any(s.startswith("tmp_conv.") for ss in rolled.values() for s in ss)


def test_plpgsql_deleting_cte_returning_rows() -> None:
    res = extract(PLPGSQL, "postgres")
    archive = next(s for s in res.statements if "treasury.trades_archive" in s.target_tables)
    assert archive.target_tables == ("treasury.trades_archive", "treasury.trades")  # it deletes too
    assert archive.source_tables == ("treasury.trades",)  # no phantom table 'moved'
    assert direct(archive) == {
        "treasury.trades_archive.trade_id": {"treasury.trades.trade_id"},
        "treasury.trades_archive.book_code": {"treasury.trades.book_code"},
        "treasury.trades_archive.notional": {"treasury.trades.notional"},
    }
    # the DELETE's WHERE picks the rows archived
    assert indirect(archive)["treasury.trades_archive.notional"] == {"treasury.trades.trade_date"}


def test_updating_and_inserting_ctes_returning_rows() -> None:
    sql = """WITH repriced AS (
    UPDATE risk.positions AS p
       SET mkt_value = p.qty * px.close_px
      FROM mkt.prices AS px
     WHERE px.instrument_id = p.instrument_id
    RETURNING p.pos_id, mkt_value
)
INSERT INTO risk.reprice_log (pos_id, new_value)
SELECT pos_id, mkt_value FROM repriced;

WITH src AS (SELECT cpty_id, SUM(amount) AS total FROM risk.collateral GROUP BY cpty_id),
ins AS (
    INSERT INTO risk.collateral_totals (cpty_id, total_amt)
    SELECT cpty_id, total FROM src
    RETURNING cpty_id, total_amt
)
INSERT INTO risk.collateral_audit (cpty_id, amt)
SELECT cpty_id, total_amt FROM ins;
"""
    first, second = extract(sql, "postgres").statements
    assert set(first.target_tables) == {"risk.reprice_log", "risk.positions"}
    assert direct(first) == {
        # a returned SET column holds its new value
        "risk.reprice_log.new_value": {"risk.positions.qty", "mkt.prices.close_px"},
        "risk.reprice_log.pos_id": {"risk.positions.pos_id"},
        "risk.positions.mkt_value": {"risk.positions.qty", "mkt.prices.close_px"},
    }
    assert indirect(first)["risk.reprice_log.pos_id"] == {
        "mkt.prices.instrument_id",
        "risk.positions.instrument_id",
    }
    assert set(second.target_tables) == {"risk.collateral_audit", "risk.collateral_totals"}
    assert second.source_tables == ("risk.collateral",)
    assert direct(second) == {
        "risk.collateral_audit.cpty_id": {"risk.collateral.cpty_id"},
        "risk.collateral_audit.amt": {"risk.collateral.amount"},
        "risk.collateral_totals.cpty_id": {"risk.collateral.cpty_id"},
        "risk.collateral_totals.total_amt": {"risk.collateral.amount"},
    }


@pytest.mark.parametrize(
    ("dialect", "apply"),
    [("tsql", "CROSS APPLY"), ("postgres", "CROSS JOIN LATERAL"), ("snowflake", "CROSS JOIN LATERAL")],
)
def test_row_constructor_unpivot_through_lateral_values(dialect: str, apply: str) -> None:
    sql = (
        "INSERT INTO risk.ccy_exposure (book_id, ccy, amount)\n"
        "SELECT p.book_id, x.ccy, x.amount\n"
        "FROM risk.positions AS p\n"
        f"{apply} (VALUES ('USD', p.usd_amt), ('EUR', p.eur_amt)) AS x (ccy, amount);\n"
    )
    res = extract(sql, dialect)
    (load,) = res.statements
    assert direct(load) == {
        "risk.ccy_exposure.book_id": {"risk.positions.book_id"},
        "risk.ccy_exposure.ccy": set(),  # literals: no column upstream
        "risk.ccy_exposure.amount": {"risk.positions.usd_amt", "risk.positions.eur_amt"},
    }
    assert "unresolved_column" not in codes(res)
    subtypes = {e.target: e.subtype for e in load.column_edges if e.kind == "direct"}
    assert subtypes["risk.ccy_exposure.amount"] == "IDENTITY"
    assert subtypes["risk.ccy_exposure.ccy"] == "TRANSFORMATION"


def test_tsql_procedure_unpivot_pivot_and_output_into() -> None:
    sql = """CREATE PROCEDURE risk.usp_fx AS
BEGIN
    DECLARE @moved TABLE (trade_id INT, notional DECIMAL(18,2));
    UPDATE t SET t.status = 'ARCHIVED'
    OUTPUT inserted.trade_id, deleted.notional INTO @moved (trade_id, notional)
    FROM risk.trades AS t WHERE t.trade_date < '2024-01-01';
    INSERT INTO risk.archived_trades (trade_id, notional) SELECT trade_id, notional FROM @moved;
    INSERT INTO risk.ccy_exposure (book_id, ccy, amount)
    SELECT p.book_id, x.ccy, x.amount FROM risk.positions AS p
    CROSS APPLY (VALUES ('USD', p.usd_amt), ('EUR', p.eur_amt)) AS x (ccy, amount);
    INSERT INTO risk.book_pivot (book_id, usd, eur)
    SELECT book_id, [USD], [EUR]
    FROM (SELECT book_id, ccy, amount FROM risk.ccy_exposure) AS src
    PIVOT (SUM(amount) FOR ccy IN ([USD], [EUR])) AS pv;
END
GO
"""
    res = extract(sql, "tsql")
    rolled = rollup_direct(res)
    assert rolled["risk.archived_trades.notional"] == {"risk.trades.notional"}
    assert rolled["risk.ccy_exposure.amount"] == {"risk.positions.usd_amt", "risk.positions.eur_amt"}
    assert rolled["risk.book_pivot.usd"] == {"risk.ccy_exposure.amount"}  # a persistent table: kept


def test_delta_merge_update_set_star_from_a_source_query() -> None:
    sql = """MERGE INTO risk.positions_delta AS tgt
USING (SELECT account_id, instrument_id, qty AS quantity FROM risk.position_updates) AS src
ON tgt.account_id = src.account_id AND tgt.instrument_id = src.instrument_id
WHEN MATCHED AND src.quantity = 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET *
WHEN NOT MATCHED THEN INSERT *;
"""
    for dialect in ("databricks", "spark"):
        (merge,) = extract(sql, dialect).statements
        assert direct(merge) == {
            "risk.positions_delta.account_id": {"risk.position_updates.account_id"},
            "risk.positions_delta.instrument_id": {"risk.position_updates.instrument_id"},
            "risk.positions_delta.quantity": {"risk.position_updates.qty"},
        }
        assert "risk.position_updates.account_id" in indirect(merge)["risk.positions_delta.quantity"]


def test_mysql_on_duplicate_key_update_values_of_a_column() -> None:
    sql = """DELIMITER $$
CREATE PROCEDURE risk.sp_rates(IN p_cob DATE)
BEGIN
  INSERT INTO risk.fx_rates_hist (ccy, rate, as_of)
    SELECT ccy, mid_rate, p_cob FROM risk.fx_rates
    ON DUPLICATE KEY UPDATE rate = VALUES(rate), as_of = VALUES(as_of);
END $$
DELIMITER ;
"""
    (load,) = extract(sql, "mysql").statements
    edges = [(e.target, set(e.sources), e.subtype) for e in load.column_edges if e.kind == "direct"]
    assert ("risk.fx_rates_hist.rate", {"risk.fx_rates.mid_rate"}, "IDENTITY") in edges
    # the update's rate is the inserted one, never a phantom or an empty write
    assert all(s == {"risk.fx_rates.mid_rate"} for t, s, _ in edges if t == "risk.fx_rates_hist.rate")


def test_column_alias_list_on_a_cte_reference() -> None:
    sql = (
        "WITH pos AS (SELECT pos_id, amount FROM risk.positions WHERE amount > 0)\n"
        "INSERT INTO risk.pos_pairs (a, b) SELECT p.x, p.y FROM pos AS p (x, y);\n"
    )
    for dialect in ("postgres", "snowflake", "databricks"):
        res = extract(sql, dialect)
        (load,) = res.statements
        assert direct(load) == {
            "risk.pos_pairs.a": {"risk.positions.pos_id"},
            "risk.pos_pairs.b": {"risk.positions.amount"},
        }
        assert "unresolved_column" not in codes(res)


@pytest.mark.parametrize("dialect", ["spark", "databricks", "hive", "postgres"])
def test_table_shorthand_query_is_select_star(dialect: str) -> None:
    sql = (
        "CREATE TABLE risk.attr_src (trade_id BIGINT, attr_name STRING, attr_value STRING);\n"
        "INSERT INTO risk.trade_attrs TABLE risk.attr_src;\n"
        "CREATE TABLE risk.attr_copy AS TABLE risk.attr_src;\n"
    )
    res = extract(sql, dialect)
    _, ins, ctas = res.statements
    assert ins.source_tables == ("risk.attr_src",)
    assert direct(ins)["risk.trade_attrs.attr_value"] == {"risk.attr_src.attr_value"}
    assert ctas.target_tables == ("risk.attr_copy",) and ctas.source_tables == ("risk.attr_src",)
    assert direct(ctas)["risk.attr_copy.trade_id"] == {"risk.attr_src.trade_id"}


def test_mysql_create_table_declared_columns_plus_select_by_name() -> None:
    sql = (
        "CREATE TABLE risk.fx_copy (id INT AUTO_INCREMENT PRIMARY KEY, rate DECIMAL(18,8))\n"
        "SELECT ccy, mid AS rate FROM mkt.fx_quotes WHERE mid > 0;\n"
    )
    res = extract(sql, "mysql")
    (create,) = res.statements
    # not by position: `id` is a new column with no upstream, `rate` is filled by name
    assert direct(create) == {
        "risk.fx_copy.ccy": {"mkt.fx_quotes.ccy"},
        "risk.fx_copy.rate": {"mkt.fx_quotes.mid"},
    }
    assert [c.name for c in res.objects[0].columns] == ["id", "rate", "ccy"]
    assert "column_count_mismatch" not in codes(res)
    # elsewhere a column list names the query's columns by position
    (pg,) = extract(
        "CREATE TABLE risk.fx_copy (a, b) AS SELECT ccy, mid FROM mkt.fx_quotes;", "postgres"
    ).statements
    assert direct(pg) == {"risk.fx_copy.a": {"mkt.fx_quotes.ccy"}, "risk.fx_copy.b": {"mkt.fx_quotes.mid"}}


def test_mysql_on_duplicate_key_update_from_the_select_sources() -> None:
    sql = (
        "INSERT INTO risk.fx_hist (ccy, rate)\n"
        "SELECT * FROM (SELECT ccy, mid AS rate, ts FROM mkt.fx_quotes) AS src\n"
        "ON DUPLICATE KEY UPDATE rate = src.rate, ccy = fx_hist.ccy;\n"
    )
    (load,) = extract(sql, "mysql").statements
    updates = [
        set(e.sources) for e in load.column_edges if e.kind == "direct" and "ON DUPLICATE" in e.expression
    ]
    assert {"mkt.fx_quotes.mid"} in updates  # src.rate: the derived table's column, not a phantom
    assert {"risk.fx_hist.ccy"} in updates  # the target row's own column


def test_plpgsql_record_returning_functions_and_ordinality() -> None:
    sql = """CREATE OR REPLACE FUNCTION risk.load_payloads() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO risk.trade_rows (trade_id, notional)
  SELECT r.trade_id, r.notional
  FROM raw.payloads p, jsonb_to_recordset(p.body -> 'trades') AS r(trade_id bigint, notional numeric)
  WHERE p.received_on = current_date;

  INSERT INTO risk.curve_points (curve_id, tenor_idx, rate)
  SELECT c.curve_id, u.idx, u.val
  FROM mkt.curves c CROSS JOIN LATERAL unnest(c.rates) WITH ORDINALITY AS u(val, idx);
END $$;
"""
    res = extract(sql, "postgres")
    rows, points = res.statements
    # the declared columns of a function of p.body are computed from p.body
    assert direct(rows) == {
        "risk.trade_rows.trade_id": {"raw.payloads.body"},
        "risk.trade_rows.notional": {"raw.payloads.body"},
    }
    assert {e.subtype for e in rows.column_edges if e.kind == "direct"} == {"TRANSFORMATION"}
    assert indirect(rows)["risk.trade_rows.notional"] == {"raw.payloads.received_on"}
    assert "table_function_unknown" not in codes(res)
    # WITH ORDINALITY: the position has no column upstream, and is no unresolved column
    assert direct(points) == {
        "risk.curve_points.curve_id": {"mkt.curves.curve_id"},
        "risk.curve_points.tenor_idx": set(),
        "risk.curve_points.rate": {"mkt.curves.rates"},
    }
    assert "unresolved_column" not in codes(res)


def test_oracle_dml_through_inline_views() -> None:
    sql = """CREATE OR REPLACE PROCEDURE risk.p_views AS
BEGIN
  UPDATE (SELECT p.mv, x.px * p.qty AS new_mv
            FROM risk.positions p JOIN mkt.prices x ON x.isin = p.isin) v
     SET v.mv = v.new_mv;
  INSERT INTO (SELECT pos_id, mv FROM risk.positions WHERE book_id = 3)
  SELECT s.pos_id, s.mv FROM risk.pos_stage s;
END;
/
"""
    res = extract(sql, "oracle")
    upd, ins = res.statements
    # a join view is updated in the table its SET column comes from
    assert upd.target_tables == ("risk.positions",)
    assert direct(upd) == {"risk.positions.mv": {"mkt.prices.px", "risk.positions.qty"}}
    assert indirect(upd)["risk.positions.mv"] == {"mkt.prices.isin", "risk.positions.isin"}
    assert set(upd.source_tables) == {"risk.positions", "mkt.prices"}
    assert ins.target_tables == ("risk.positions",)
    assert direct(ins) == {
        "risk.positions.pos_id": {"risk.pos_stage.pos_id"},
        "risk.positions.mv": {"risk.pos_stage.mv"},
    }


def test_snowflake_star_ilike_exclude_rename() -> None:
    sql = (
        "CREATE TABLE risk.trades (trade_id INT, book_id INT, notional NUMBER, ccy STRING, internal_flag BOOLEAN);\n"
        "CREATE TABLE risk.trade_keys AS SELECT * ILIKE '%_ID' FROM risk.trades;\n"
        "CREATE TABLE risk.trades_pub AS SELECT * EXCLUDE (internal_flag) RENAME (ccy AS currency) FROM risk.trades;\n"
    )
    _, keys, pub = extract(sql, "snowflake").statements
    assert direct(keys) == {
        "risk.trade_keys.trade_id": {"risk.trades.trade_id"},
        "risk.trade_keys.book_id": {"risk.trades.book_id"},
    }
    assert set(direct(pub)) == {
        "risk.trades_pub.trade_id",
        "risk.trades_pub.book_id",
        "risk.trades_pub.notional",
        "risk.trades_pub.currency",
    }
    assert direct(pub)["risk.trades_pub.currency"] == {"risk.trades.ccy"}


def test_tsql_update_through_a_join_cte() -> None:
    sql = """CREATE PROCEDURE dbo.usp_mtm AS
BEGIN
    WITH upd AS (
        SELECT d.mtm, p.price * d.qty AS new_mtm
        FROM dbo.deals d JOIN dbo.prices p ON p.isin = d.isin
    )
    UPDATE upd SET mtm = new_mtm;
END
GO
"""
    (upd,) = extract(sql, "tsql").statements
    assert upd.target_tables == ("dbo.deals",)  # not a phantom table 'upd'
    assert direct(upd) == {"dbo.deals.mtm": {"dbo.deals.qty", "dbo.prices.price"}}
    assert indirect(upd)["dbo.deals.mtm"] == {"dbo.deals.isin", "dbo.prices.isin"}


def test_redshift_create_table_like_in_column_list() -> None:
    res = extract("CREATE TABLE risk.pos_stage (LIKE risk.positions INCLUDING DEFAULTS);", "redshift")
    (create,) = res.statements
    assert create.target_tables == ("risk.pos_stage",)
    assert create.source_tables == ("risk.positions",)  # as CREATE TABLE ... LIKE elsewhere


def test_databricks_stream_reads_and_merge_with_schema_evolution() -> None:
    sql = (
        "CREATE OR REFRESH STREAMING TABLE risk.st_trades AS\n"
        "SELECT trade_id, notional FROM STREAM(raw.trades_bronze);\n"
        "MERGE WITH SCHEMA EVOLUTION INTO risk.positions t USING risk.pos_updates s ON t.pos_id = s.pos_id\n"
        "WHEN MATCHED THEN UPDATE SET t.amount = s.amount;\n"
    )
    res = extract(sql, "databricks")
    st, merge = res.statements
    assert st.source_tables == ("raw.trades_bronze",)
    assert direct(st)["risk.st_trades.notional"] == {"raw.trades_bronze.notional"}
    assert "parse_error" not in {d.code for d in merge.diagnostics}
    assert direct(merge) == {"risk.positions.amount": {"risk.pos_updates.amount"}}


@pytest.mark.parametrize("modifiers", ["FORCE EDITIONABLE", "NOFORCE", "NONEDITIONABLE", "EDITIONING"])
def test_oracle_view_modifiers(modifiers: str) -> None:
    sql = f"CREATE OR REPLACE {modifiers} VIEW risk.v_pos (pid, amt) AS SELECT pos_id, amount FROM risk.positions;\n"
    res = extract(sql, "oracle")
    (view,) = res.statements
    assert view.type == "create_view" and view.target_tables == ("risk.v_pos",)
    assert direct(view) == {
        "risk.v_pos.pid": {"risk.positions.pos_id"},
        "risk.v_pos.amt": {"risk.positions.amount"},
    }


def test_select_over_a_data_modifying_cte_is_its_write() -> None:
    sql = (
        "WITH upd AS (UPDATE risk.positions SET amount = amount * 2 WHERE book_id = 1 RETURNING pos_id)\n"
        "SELECT count(*) AS n FROM upd;\n"
    )
    (stmt,) = extract(sql, "postgres").statements
    assert stmt.type == "update" and stmt.target_tables == ("risk.positions",)
    assert direct(stmt) == {"risk.positions.amount": {"risk.positions.amount"}}
    assert indirect(stmt) == {"risk.positions.amount": {"risk.positions.book_id"}}


def test_tsql_builtin_row_functions_of_columns() -> None:
    sql = (
        "INSERT INTO dbo.trade_tags (trade_id, tag)\n"
        "SELECT t.trade_id, s.value FROM dbo.trades t CROSS APPLY STRING_SPLIT(t.tags, ',') AS s;\n"
        "INSERT INTO dbo.trades_flat (trade_id, amt)\n"
        "SELECT j.trade_id, j.amt FROM dbo.raw_msgs r\n"
        "CROSS APPLY OPENJSON(r.payload) WITH (trade_id INT '$.id', amt DECIMAL(18,2) '$.amt') AS j;\n"
    )
    res = extract(sql, "tsql")
    tags, flat = res.statements
    assert direct(tags) == {
        "dbo.trade_tags.trade_id": {"dbo.trades.trade_id"},
        "dbo.trade_tags.tag": {"dbo.trades.tags"},
    }
    assert direct(flat) == {
        "dbo.trades_flat.trade_id": {"dbo.raw_msgs.payload"},
        "dbo.trades_flat.amt": {"dbo.raw_msgs.payload"},
    }
    assert "table_function_unknown" not in codes(res)  # built-ins of columns: lineage from their arguments


def test_spark_transform_script_outputs() -> None:
    sql = (
        "INSERT INTO risk.scored\n"
        "SELECT TRANSFORM (trade_id, amt) USING 'python score.py' AS (trade_id STRING, score DOUBLE)\n"
        "FROM risk.trade_cols WHERE amt > 0;\n"
    )
    for dialect in ("spark", "hive", "databricks"):
        (stmt,) = extract(sql, dialect).statements
        both = {"risk.trade_cols.trade_id", "risk.trade_cols.amt"}
        assert direct(stmt) == {"risk.scored.trade_id": both, "risk.scored.score": both}
        assert indirect(stmt)["risk.scored.score"] == {"risk.trade_cols.amt"}


def test_tsql_composable_dml_scd2_merge_output_in_a_derived_table() -> None:
    sql = """INSERT INTO dbo.dim_cpty (cpty_id, cpty_name, rating, is_current)
SELECT cpty_id, cpty_name, rating, 1
FROM (
    MERGE dbo.dim_cpty AS d
    USING stg.cpty AS s ON d.cpty_id = s.cpty_id AND d.is_current = 1
    WHEN MATCHED AND d.rating <> s.rating THEN UPDATE SET d.is_current = 0
    WHEN NOT MATCHED THEN INSERT (cpty_id, cpty_name, rating, is_current)
         VALUES (s.cpty_id, s.cpty_name, s.rating, 1)
    OUTPUT $action, s.cpty_id, s.cpty_name, s.rating
) AS changes (action_taken, cpty_id, cpty_name, rating)
WHERE action_taken = 'UPDATE';
"""
    res = extract(sql, "tsql")
    (stmt,) = res.statements
    assert "analysis_error" not in codes(res)
    assert stmt.target_tables == ("dbo.dim_cpty",)
    assert set(stmt.source_tables) == {"dbo.dim_cpty", "stg.cpty"}
    edges = direct(stmt)
    assert edges["dbo.dim_cpty.cpty_name"] == {"stg.cpty.cpty_name"}
    assert edges["dbo.dim_cpty.rating"] == {"stg.cpty.rating"}
    assert edges["dbo.dim_cpty.is_current"] == set()


def test_postgres_merge_returning_in_a_cte() -> None:
    sql = """WITH m AS (
  MERGE INTO risk.limits t USING risk.limit_stage s ON t.cpty_id = s.cpty_id
  WHEN MATCHED THEN UPDATE SET limit_amt = s.limit_amt
  WHEN NOT MATCHED THEN INSERT (cpty_id, limit_amt) VALUES (s.cpty_id, s.limit_amt)
  RETURNING t.cpty_id, s.limit_amt AS new_limit
)
INSERT INTO risk.limit_log (cpty_id, new_limit) SELECT cpty_id, new_limit FROM m;
"""
    (stmt,) = extract(sql, "postgres").statements
    assert set(stmt.target_tables) == {"risk.limit_log", "risk.limits"}
    assert direct(stmt)["risk.limit_log.new_limit"] == {"risk.limit_stage.limit_amt"}
    assert direct(stmt)["risk.limits.limit_amt"] == {"risk.limit_stage.limit_amt"}


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "tsql", "databricks"])
def test_recursive_cte_reads_its_anchor_columns_by_the_cte_names(dialect: str) -> None:
    recursive = "" if dialect == "tsql" else "RECURSIVE "
    sql = (
        f"WITH {recursive}hier (book_id, parent_id, root_id) AS (\n"
        "  SELECT book_id, parent_id, book_id FROM risk.books WHERE parent_id IS NULL\n"
        "  UNION ALL\n"
        "  SELECT b.book_id, b.parent_id, h.root_id FROM risk.books b JOIN hier h ON b.parent_id = h.book_id\n"
        ")\n"
        "INSERT INTO risk.book_roots (book_id, root_id) SELECT book_id, root_id FROM hier;\n"
    )
    res = extract(sql, dialect)
    stmt = res.statements[-1]
    assert direct(stmt) == {
        "risk.book_roots.book_id": {"risk.books.book_id"},
        "risk.book_roots.root_id": {"risk.books.book_id"},
    }
    assert "unresolved_column" not in codes(res)
    assert {e.subtype for e in stmt.column_edges if e.kind == "direct"} == {"IDENTITY"}


def test_snowflake_identifier_of_a_literal_names_the_table() -> None:
    sql = (
        "CREATE TABLE risk.positions (pos_id INT, book_id INT, amount NUMBER);\n"
        "INSERT INTO risk.pos_copy SELECT p.pos_id, p.amount FROM IDENTIFIER('Risk.Positions') AS p;\n"
        "INSERT INTO IDENTIFIER('risk.pos_ids') (id) SELECT pos_id FROM risk.positions;\n"
    )
    _, copy, ids = extract(sql, "snowflake").statements
    assert copy.source_tables == ("risk.positions",)
    assert direct(copy) == {
        "risk.pos_copy.pos_id": {"risk.positions.pos_id"},
        "risk.pos_copy.amount": {"risk.positions.amount"},
    }
    assert ids.target_tables == ("risk.pos_ids",)


@pytest.mark.parametrize(
    ("dialect", "tail"),
    [
        ("postgres", "WITH LOCAL CHECK OPTION"),
        ("mysql", "WITH CASCADED CHECK OPTION"),
        ("tsql", "WITH CHECK OPTION"),
        ("snowflake", "WITH CHECK OPTION"),
        ("oracle", "WITH CHECK OPTION CONSTRAINT chk_pos"),
    ],
)
def test_view_check_option_tail(dialect: str, tail: str) -> None:
    sql = f"CREATE VIEW risk.v_pos AS SELECT pos_id, amount FROM risk.positions WHERE amount > 0 {tail};\n"
    (view,) = extract(sql, dialect).statements
    assert view.type == "create_view" and view.target_tables == ("risk.v_pos",)
    assert direct(view) == {
        "risk.v_pos.pos_id": {"risk.positions.pos_id"},
        "risk.v_pos.amount": {"risk.positions.amount"},
    }


def test_postgres_materialized_view_with_no_data_and_lateral_column_aliases() -> None:
    sql = (
        "CREATE MATERIALIZED VIEW risk.mv_exp AS\n"
        "SELECT cpty_id, SUM(amount) AS total FROM risk.positions GROUP BY cpty_id WITH NO DATA;\n"
        "INSERT INTO risk.top_trade (book_id, trade_id, amt)\n"
        "SELECT b.book_id, x.trade_id, x.amt FROM risk.books b\n"
        "CROSS JOIN LATERAL (SELECT t.trade_id, t.amount FROM risk.trades t WHERE t.book_id = b.book_id\n"
        "                    ORDER BY t.amount DESC LIMIT 1) AS x(trade_id, amt);\n"
    )
    res = extract(sql, "postgres")
    mv, top = res.statements
    assert mv.type == "create_view" and direct(mv)["risk.mv_exp.total"] == {"risk.positions.amount"}
    # the LATERAL's column list renames the subquery's outputs: x.amt is t.amount
    assert "risk.trades.amount" in direct(top)["risk.top_trade.amt"]
    assert "unresolved_column" not in codes(res)


def test_tsql_view_attributes() -> None:
    sql = (
        "CREATE OR ALTER VIEW [dbo].[v_pos] (pid, amt) WITH SCHEMABINDING, VIEW_METADATA AS\n"
        "SELECT TOP (10) PERCENT WITH TIES pos_id, amount FROM dbo.positions ORDER BY amount DESC;\nGO\n"
    )
    (view,) = extract(sql, "tsql").statements
    assert view.type == "create_view" and view.target_tables == ("dbo.v_pos",)
    assert direct(view) == {
        "dbo.v_pos.pid": {"dbo.positions.pos_id"},
        "dbo.v_pos.amt": {"dbo.positions.amount"},
    }


def test_synonyms_name_their_objects_until_dropped() -> None:
    tsql = (
        "CREATE SYNONYM dbo.pos FOR risk_db.dbo.positions;\nGO\n"
        "INSERT INTO dbo.pos_copy (pos_id, amt) SELECT p.pos_id, p.amount FROM dbo.pos AS p;\nGO\n"
        "DROP SYNONYM dbo.pos;\nGO\n"
        "INSERT INTO dbo.pos_copy2 (pos_id) SELECT pos_id FROM dbo.pos;\nGO\n"
    )
    syn, copy, drop, after = extract(tsql, "tsql").statements
    assert (syn.type, drop.type) == ("create_synonym", "drop_synonym")
    assert copy.source_tables == ("risk_db.dbo.positions",)
    assert direct(copy)["dbo.pos_copy.amt"] == {"risk_db.dbo.positions.amount"}
    assert after.source_tables == ("dbo.pos",)  # dropped: the name is its own again
    oracle = (
        "CREATE OR REPLACE PUBLIC SYNONYM fx_rates FOR mkt.fx_rates_a;\n"
        "CREATE OR REPLACE PUBLIC SYNONYM fx_rates FOR mkt.fx_rates_b;\n"
        "INSERT INTO risk.conv (ccy, r) SELECT ccy, mid FROM fx_rates;\n"
    )
    conv = extract(oracle, "oracle").statements[-1]
    assert direct(conv) == {"risk.conv.ccy": {"mkt.fx_rates_b.ccy"}, "risk.conv.r": {"mkt.fx_rates_b.mid"}}


def test_redshift_merge_remove_duplicates() -> None:
    sql = (
        "CREATE TABLE risk.limits (cpty_id INT, limit_amt DECIMAL(18,2));\n"
        "MERGE INTO risk.limits USING risk.limit_stage s ON limits.cpty_id = s.cpty_id REMOVE DUPLICATES;\n"
    )
    res = extract(sql, "redshift")
    merge = res.statements[-1]
    assert "parse_error" not in {d.code for d in merge.diagnostics}
    assert direct(merge) == {
        "risk.limits.cpty_id": {"risk.limit_stage.cpty_id"},
        "risk.limits.limit_amt": {"risk.limit_stage.limit_amt"},
    }


@pytest.mark.parametrize("dialect", ["mysql", "oracle"])
def test_json_table_columns_come_from_the_document(dialect: str) -> None:
    sql = (
        "INSERT INTO risk.legs (trade_id, leg_amt, leg_ccy)\n"
        "SELECT t.trade_id, jt.amt, jt.ccy FROM raw.trades t,\n"
        "JSON_TABLE(t.doc, '$.legs[*]' COLUMNS (amt DECIMAL(18,2) PATH '$.amt', ccy CHAR(3) PATH '$.ccy')) jt;\n"
    )
    (stmt,) = extract(sql, dialect).statements
    assert direct(stmt) == {
        "risk.legs.trade_id": {"raw.trades.trade_id"},
        "risk.legs.leg_amt": {"raw.trades.doc"},
        "risk.legs.leg_ccy": {"raw.trades.doc"},
    }


def test_bigquery_merge_insert_row_by_position() -> None:
    sql = (
        "CREATE TABLE bank.risk.limits (cpty_id INT64, limit_amt NUMERIC);\n"
        "MERGE bank.risk.limits t\n"
        "USING (SELECT id AS cpty, amt FROM bank.stage.limits) s ON t.cpty_id = s.cpty\n"
        "WHEN MATCHED THEN UPDATE SET limit_amt = s.amt\n"
        "WHEN NOT MATCHED BY TARGET THEN INSERT ROW\n"
        "WHEN NOT MATCHED BY SOURCE THEN DELETE;\n"
    )
    merge = extract(sql, "bigquery").statements[-1]
    assert direct(merge) == {
        "bank.risk.limits.cpty_id": {"bank.stage.limits.id"},
        "bank.risk.limits.limit_amt": {"bank.stage.limits.amt"},
    }


def test_a_table_of_another_schema_is_not_the_known_one_of_the_same_name() -> None:
    schema = {"bank.risk.limits": {"cpty_id": "int", "limit_amt": "numeric"}}
    res = extract("SELECT * FROM bank.stage.limits", "bigquery", schema=schema)
    (stmt,) = res.statements
    assert direct(stmt) == {"*": {"bank.stage.limits.*"}}  # unknown columns, not risk.limits'
    res = extract("SELECT * FROM risk.limits", "bigquery", schema=schema)  # less qualified: the same
    assert set(direct(res.statements[0])) == {"cpty_id", "limit_amt"}


def test_snowflake_task_body_and_stream_of_a_table() -> None:
    sql = (
        "CREATE TABLE risk.positions (pos_id INT, cpty_id INT, amount NUMBER);\n"
        "CREATE OR REPLACE STREAM risk.pos_stream ON TABLE risk.positions;\n"
        "CREATE OR REPLACE TASK risk.t_load WAREHOUSE = risk_wh SCHEDULE = 'USING CRON 0 6 * * * UTC'\n"
        "  WHEN SYSTEM$STREAM_HAS_DATA('risk.pos_stream') AS\n"
        "INSERT INTO risk.pos_changes (pos_id, amount) SELECT pos_id, amount FROM risk.pos_stream;\n"
    )
    res = extract(sql, "snowflake")
    _, stream, task = res.statements
    assert stream.type == "create_stream" and stream.source_tables == ("risk.positions",)
    assert task.type == "insert" and (task.line_start, task.line_end) == (3, 5)
    assert direct(task)["risk.pos_changes.amount"] == {"risk.pos_stream.amount"}
    assert rollup_direct(res)["risk.pos_stream.amount"] == {"risk.positions.amount"}
