"""Statement kinds: tables, paths and column edges for each kind of statement."""

from __future__ import annotations

import pytest
import sqlglot

from finlineage.lineage import extract

from .helpers import codes, direct, indirect


def one(sql: str, dialect: str = "", **kw: object):
    res = extract(sql, dialect, **kw)  # type: ignore[arg-type]
    assert len(res.statements) == 1, res.statements
    return res.statements[0]


def test_plain_select_outputs_are_bare_names() -> None:
    st = one("SELECT t.trade_id, t.qty * t.price AS notional FROM trades t")
    assert st.type == "select"
    assert st.source_tables == ("trades",)
    assert st.target_tables == ()
    assert direct(st) == {"trade_id": {"trades.trade_id"}, "notional": {"trades.qty", "trades.price"}}


def test_insert_select_with_column_list_maps_by_position() -> None:
    st = one("INSERT INTO risk.exposure (acct, amount) SELECT p.account_id, p.mv FROM positions p")
    assert st.type == "insert"
    assert st.target_tables == ("risk.exposure",)
    assert direct(st) == {
        "risk.exposure.acct": {"positions.account_id"},
        "risk.exposure.amount": {"positions.mv"},
    }


def test_insert_select_without_column_list_uses_output_names() -> None:
    st = one("INSERT INTO pnl SELECT desk, SUM(pnl_usd) AS pnl FROM daily_pnl GROUP BY desk")
    assert direct(st) == {"pnl.desk": {"daily_pnl.desk"}, "pnl.pnl": {"daily_pnl.pnl_usd"}}
    assert indirect(st)["pnl.pnl"] == {"daily_pnl.desk"}


def test_insert_without_column_list_uses_target_schema_positionally() -> None:
    schema = {"ledger": {"entry_id": "int", "amount_usd": "decimal"}}
    st = one("INSERT INTO ledger SELECT id, amt * rate FROM raw_entries", schema=schema)
    assert direct(st) == {
        "ledger.entry_id": {"raw_entries.id"},
        "ledger.amount_usd": {"raw_entries.amt", "raw_entries.rate"},
    }


def test_insert_values_has_no_sources() -> None:
    st = one("INSERT INTO fx_rates (ccy, rate) VALUES ('EUR', 1.08), ('GBP', 1.27)")
    assert st.source_tables == ()
    assert st.target_tables == ("fx_rates",)
    assert direct(st) == {"fx_rates.ccy": set(), "fx_rates.rate": set()}


def test_insert_values_without_list_or_schema() -> None:
    st = one("INSERT INTO fx_rates VALUES ('EUR', 1.08)")
    assert st.target_tables == ("fx_rates",)
    assert st.column_edges == ()


@pytest.mark.parametrize("dialect", ["hive", "spark", "databricks"])
def test_insert_overwrite_partition_excludes_static_partition_columns(dialect: str) -> None:
    schema = {"mart.daily_positions": {"acct": "string", "qty": "int", "dt": "string"}}
    st = one(
        "INSERT OVERWRITE TABLE mart.daily_positions PARTITION (dt='2024-01-31') "
        "SELECT account, quantity FROM staging.positions",
        dialect,
        schema=schema,
    )
    assert st.target_tables == ("mart.daily_positions",)
    assert direct(st) == {
        "mart.daily_positions.acct": {"staging.positions.account"},
        "mart.daily_positions.qty": {"staging.positions.quantity"},
    }


def test_insert_overwrite_directory_is_a_path_target() -> None:
    st = one("INSERT OVERWRITE DIRECTORY '/exports/trades' SELECT trade_id FROM trades", "hive")
    assert st.target_paths == ("/exports/trades",)
    assert st.source_tables == ("trades",)
    assert st.target_tables == ()


def test_ctas_registers_columns_for_later_statements() -> None:
    res = extract(
        "CREATE TABLE eod AS SELECT book, SUM(mv) AS mv FROM positions GROUP BY book;"
        "INSERT INTO report SELECT * FROM eod;",
        "",
    )
    ctas, ins = res.statements
    assert ctas.type == "create_table"
    assert direct(ctas) == {"eod.book": {"positions.book"}, "eod.mv": {"positions.mv"}}
    assert direct(ins) == {"report.book": {"eod.book"}, "report.mv": {"eod.mv"}}
    table = next(o for o in res.objects if o.name == "eod")
    assert [c.name for c in table.columns] == ["book", "mv"]


def test_create_table_columns_become_schema() -> None:
    res = extract(
        "CREATE TABLE trades (trade_id INT, px DECIMAL(18, 6), qty INT);"
        "INSERT INTO trade_copy SELECT * FROM trades;",
        "postgres",
    )
    assert direct(res.statements[1]) == {
        "trade_copy.trade_id": {"trades.trade_id"},
        "trade_copy.px": {"trades.px"},
        "trade_copy.qty": {"trades.qty"},
    }
    obj = res.objects[0]
    assert obj.kind == "table"
    assert [(c.name, c.data_type) for c in obj.columns] == [
        ("trade_id", "INT"),
        ("px", "DECIMAL(18, 6)"),
        ("qty", "INT"),
    ]


def test_create_view_with_column_list() -> None:
    st = one("CREATE VIEW v_exposure (acct, exposure) AS (SELECT account_id, mv FROM positions)")
    assert st.type == "create_view"
    assert direct(st) == {
        "v_exposure.acct": {"positions.account_id"},
        "v_exposure.exposure": {"positions.mv"},
    }


def test_materialized_view_object_kind() -> None:
    res = extract("CREATE MATERIALIZED VIEW mv_pnl AS SELECT desk, pnl FROM pnl_daily", "postgres")
    assert res.objects[0].kind == "materialized_view"
    assert res.statements[0].target_tables == ("mv_pnl",)


@pytest.mark.parametrize("dialect", ["tsql", "postgres"])
def test_select_into(dialect: str) -> None:
    st = one("SELECT trade_id, qty INTO trades_backup FROM trades", dialect)
    assert st.target_tables == ("trades_backup",)
    assert st.source_tables == ("trades",)
    assert direct(st) == {"trades_backup.trade_id": {"trades.trade_id"}, "trades_backup.qty": {"trades.qty"}}


def test_select_into_with_union() -> None:
    st = one("SELECT * INTO all_trades FROM trades_eu UNION ALL SELECT * FROM trades_us", "postgres")
    assert st.target_tables == ("all_trades",)
    assert set(st.source_tables) == {"trades_eu", "trades_us"}


def test_merge_each_branch_at_column_level() -> None:
    st = one(
        """MERGE INTO positions AS p
        USING (SELECT account_id, symbol, SUM(qty) AS qty FROM fills GROUP BY account_id, symbol) AS f
        ON p.account_id = f.account_id AND p.symbol = f.symbol
        WHEN MATCHED THEN UPDATE SET qty = p.qty + f.qty
        WHEN NOT MATCHED THEN INSERT (account_id, symbol, qty) VALUES (f.account_id, f.symbol, f.qty)"""
    )
    assert st.type == "merge"
    assert st.target_tables == ("positions",)
    assert st.source_tables == ("fills",)
    d = direct(st)
    assert d["positions.qty"] == {"positions.qty", "fills.qty"}
    assert d["positions.account_id"] == {"fills.account_id"}
    assert d["positions.symbol"] == {"fills.symbol"}
    branches = [e.expression for e in st.column_edges if e.kind == "direct" and e.target == "positions.qty"]
    assert any(b.startswith("WHEN MATCHED UPDATE") for b in branches)
    assert any(b.startswith("WHEN NOT MATCHED INSERT") for b in branches)
    assert "fills.account_id" in indirect(st)["positions.qty"]


def test_update_with_from_postgres() -> None:
    st = one(
        "UPDATE positions SET mv = positions.qty * px.close FROM prices px "
        "WHERE px.symbol = positions.symbol AND px.dt = '2024-01-31'",
        "postgres",
    )
    assert st.type == "update"
    assert st.target_tables == ("positions",)
    assert "prices" in st.source_tables
    assert direct(st) == {"positions.mv": {"positions.qty", "prices.close"}}
    assert {"prices.symbol", "prices.dt"} <= indirect(st)["positions.mv"]


def test_update_tsql_alias_target_with_join() -> None:
    st = one(
        "UPDATE p SET p.mv = p.qty * q.px FROM dbo.positions p JOIN dbo.quotes q ON q.sym = p.sym",
        "tsql",
    )
    assert st.target_tables == ("dbo.positions",)
    assert direct(st) == {"dbo.positions.mv": {"dbo.positions.qty", "dbo.quotes.px"}}


def test_update_mysql_join() -> None:
    st = one("UPDATE accounts a JOIN balances b ON a.id = b.account_id SET a.balance = b.amount", "mysql")
    assert st.target_tables == ("accounts",)
    assert st.source_tables == ("balances",)
    assert direct(st) == {"accounts.balance": {"balances.amount"}}


def test_delete_reads_subquery_tables() -> None:
    st = one("DELETE FROM orders WHERE account_id IN (SELECT id FROM closed_accounts)")
    assert st.type == "delete"
    assert st.target_tables == ("orders",)
    assert st.source_tables == ("closed_accounts",)


def test_truncate_drop() -> None:
    res = extract("TRUNCATE TABLE stage.fills; DROP TABLE IF EXISTS stage.old_fills;", "")
    assert [(s.type, s.target_tables) for s in res.statements] == [
        ("truncate", ("stage.fills",)),
        ("drop", ("stage.old_fills",)),
    ]


def test_alter_rename_records_rename_not_data_flow() -> None:
    st = one("ALTER TABLE trades_new RENAME TO trades")
    assert st.type == "rename"
    assert st.renames == (("trades_new", "trades"),)
    assert st.source_tables == ()


def test_mysql_rename_table_statement() -> None:
    st = one("RENAME TABLE t_a TO t_b, t_c TO t_d", "mysql")
    assert st.renames == (("t_a", "t_b"), ("t_c", "t_d"))


def test_snowflake_swap() -> None:
    st = one("ALTER TABLE prices SWAP WITH prices_staging", "snowflake")
    assert st.type == "swap"
    assert st.source_tables == ("prices_staging",)
    assert st.target_tables == ("prices",)


def test_hive_exchange_partition() -> None:
    st = one("ALTER TABLE fills EXCHANGE PARTITION (dt='2024-01-31') WITH TABLE fills_stage", "hive")
    assert st.source_tables == ("fills_stage",)
    assert st.target_tables == ("fills",)


def test_copy_into_table_from_stage() -> None:
    st = one("COPY INTO trades FROM @landing/trades/ FILE_FORMAT = (TYPE = CSV)", "snowflake")
    assert st.target_tables == ("trades",)
    assert st.source_paths == ("@landing/trades/",)


def test_copy_into_location_from_query() -> None:
    st = one("COPY INTO 's3://bucket/pnl/' FROM (SELECT desk, pnl FROM pnl_daily)", "snowflake")
    assert st.target_paths == ("s3://bucket/pnl/",)
    assert st.source_tables == ("pnl_daily",)


def test_postgres_copy_from_file() -> None:
    st = one("COPY fx_rates FROM '/data/fx.csv'", "postgres")
    assert st.target_tables == ("fx_rates",)
    assert st.source_paths == ("/data/fx.csv",)


def test_redshift_unload() -> None:
    st = one(
        "UNLOAD ('SELECT trade_id FROM trades WHERE dt = ''2024-01-31''') TO 's3://b/t/' IAM_ROLE 'r'",
        "redshift",
    )
    assert st.type == "unload"
    assert st.source_tables == ("trades",)
    assert st.target_paths == ("s3://b/t/",)


def test_spark_file_query_is_a_path() -> None:
    st = one("SELECT * FROM parquet.`/lake/trades/2024/`", "spark")
    assert st.source_paths == ("/lake/trades/2024/",)
    assert st.source_tables == ()


def test_load_data_inpath() -> None:
    st = one("LOAD DATA INPATH '/landing/fx' INTO TABLE fx_rates", "hive")
    assert st.source_paths == ("/landing/fx",)
    assert st.target_tables == ("fx_rates",)


def test_unparseable_statement_reports_parse_error() -> None:
    res = extract("SELECT FROM WHERE (((", "postgres")
    assert "parse_error" in codes(res)


def test_command_statement_is_reported() -> None:
    res = extract("ALTER SYSTEM SET work_mem = '1GB'", "postgres")
    assert res.statements
    assert codes(res) & {"unsupported_statement", "parse_error"}


def test_oracle_insert_all_branches() -> None:
    st = one(
        "INSERT ALL INTO cash_eur (acct, amt) VALUES (account_id, amount) "
        "INTO cash_audit (acct) VALUES (account_id) "
        "SELECT account_id, amount FROM cash_moves WHERE ccy = 'EUR'",
        "oracle",
    )
    assert st.target_tables == ("cash_eur", "cash_audit")
    assert st.source_tables == ("cash_moves",)
    assert direct(st) == {
        "cash_eur.acct": {"cash_moves.account_id"},
        "cash_eur.amt": {"cash_moves.amount"},
        "cash_audit.acct": {"cash_moves.account_id"},
    }


def test_oracle_insert_first_with_conditions() -> None:
    st = one(
        "INSERT FIRST WHEN amount > 1000 THEN INTO big_moves (acct) VALUES (account_id) "
        "ELSE INTO small_moves SELECT account_id, amount FROM cash_moves",
        "oracle",
    )
    assert st.target_tables == ("big_moves", "small_moves")
    assert direct(st)["big_moves.acct"] == {"cash_moves.account_id"}
    assert "cash_moves.amount" in indirect(st)["big_moves.acct"]


@pytest.mark.parametrize(
    "dialect", ["spark", "tsql", "postgres", "snowflake", "oracle", "bigquery", "mysql", ""]
)
def test_plain_column_text_matches_the_generator(dialect: str) -> None:
    from finlineage.lineage.extractors.base import _plain_column_text
    from finlineage.lineage.names import canonicalize

    q = (
        "SELECT acct, t.bal, ccy AS currency, db.t.amt AS amount, x /* note */ AS y, "
        "t.select_flag, fx.rate AS rate_1 FROM t"
    )
    tree = canonicalize(sqlglot.parse_one(q, read=dialect or None), dialect)
    fast = 0
    for proj in tree.expressions:
        text = _plain_column_text(proj, dialect)
        if text is not None:
            fast += 1
            assert text == proj.sql(dialect=dialect or None)
    assert fast >= 5
