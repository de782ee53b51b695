"""Column resolution through scopes: CTEs, subqueries, set operations, stars, UDTFs."""

from __future__ import annotations

from finlineage.lineage import extract

from .helpers import codes, direct, indirect


def edges(sql: str, dialect: str = "", **kw: object) -> dict[str, set[str]]:
    res = extract(sql, dialect, **kw)  # type: ignore[arg-type]
    return direct(res.statements[-1])


def test_cte_chain_resolves_to_base_columns() -> None:
    sql = """
    WITH fills AS (SELECT account_id, qty, px FROM executions WHERE status = 'F'),
         notional AS (SELECT account_id, qty * px AS amt FROM fills)
    INSERT INTO acct_notional SELECT account_id, SUM(amt) AS total FROM notional GROUP BY account_id
    """
    assert edges(sql) == {
        "acct_notional.account_id": {"executions.account_id"},
        "acct_notional.total": {"executions.qty", "executions.px"},
    }


def test_recursive_cte() -> None:
    sql = """
    WITH RECURSIVE chain AS (
        SELECT entity_id, parent_id, 1 AS depth FROM entities WHERE parent_id IS NULL
        UNION ALL
        SELECT e.entity_id, e.parent_id, c.depth + 1 FROM entities e JOIN chain c ON e.parent_id = c.entity_id
    )
    INSERT INTO hierarchy SELECT entity_id, depth FROM chain
    """
    got = edges(sql, "postgres")
    assert got["hierarchy.entity_id"] == {"entities.entity_id"}
    assert got["hierarchy.depth"] == set()


def test_nested_subqueries() -> None:
    sql = """
    INSERT INTO big_trades
    SELECT x.trade_id, x.usd FROM (
        SELECT y.trade_id, y.amt * y.rate AS usd FROM (
            SELECT t.trade_id, t.amt, f.rate FROM trades t JOIN fx_rates f ON t.ccy = f.ccy
        ) y
    ) x WHERE x.usd > 1e6
    """
    res = extract(sql, "")
    st = res.statements[0]
    assert direct(st) == {
        "big_trades.trade_id": {"trades.trade_id"},
        "big_trades.usd": {"trades.amt", "fx_rates.rate"},
    }
    assert {"trades.ccy", "fx_rates.ccy", "trades.amt", "fx_rates.rate"} <= indirect(st)["big_trades.usd"]


def test_union_intersect_except_by_position() -> None:
    sql = """
    INSERT INTO all_cash (acct, amount)
    SELECT account_id, amount FROM cash_eu
    UNION ALL SELECT acct_no, amt_usd FROM cash_us
    EXCEPT SELECT account_id, amount FROM cash_blocked
    """
    assert edges(sql) == {
        "all_cash.acct": {"cash_eu.account_id", "cash_us.acct_no", "cash_blocked.account_id"},
        "all_cash.amount": {"cash_eu.amount", "cash_us.amt_usd", "cash_blocked.amount"},
    }


def test_window_function_partition_and_order_are_indirect_only() -> None:
    res = extract(
        "INSERT INTO ranked SELECT trade_id, ROW_NUMBER() OVER (PARTITION BY desk ORDER BY pnl DESC) AS rk "
        "FROM trades",
        "",
    )
    st = res.statements[0]
    assert direct(st)["ranked.rk"] == set()
    assert indirect(st)["ranked.rk"] == {"trades.desk", "trades.pnl"}
    assert {(e.kind, e.subtype) for e in st.column_edges if e.target == "ranked.rk"} == {
        ("direct", "TRANSFORMATION"),
        ("indirect", "WINDOW"),
    }


def test_case_expression_and_scalar_subquery() -> None:
    sql = """
    INSERT INTO flagged
    SELECT t.trade_id,
           CASE WHEN t.notional > (SELECT AVG(limit_usd) FROM limits) THEN 'BIG' ELSE t.bucket END AS flag
    FROM trades t
    """
    assert edges(sql) == {
        "flagged.trade_id": {"trades.trade_id"},
        "flagged.flag": {"trades.notional", "limits.limit_usd", "trades.bucket"},
    }


def test_star_without_schema_kept_as_table_star() -> None:
    res = extract("INSERT INTO trades_copy SELECT * FROM trades", "")
    assert direct(res.statements[0]) == {"trades_copy.*": {"trades.*"}}
    assert "star_without_schema" in codes(res)


def test_star_with_schema_is_expanded() -> None:
    schema = {"trades": {"trade_id": "int", "qty": "int"}}
    assert edges("INSERT INTO trades_copy SELECT * FROM trades", schema=schema) == {
        "trades_copy.trade_id": {"trades.trade_id"},
        "trades_copy.qty": {"trades.qty"},
    }


def test_qualified_star_through_join_and_subquery_star() -> None:
    schema = {"sales.fills": {"id": "int", "qty": "int"}, "ref.books": {"id": "int", "desk": "text"}}
    got = edges(
        "INSERT INTO out_t SELECT f.*, b.desk FROM (SELECT * FROM sales.fills) f JOIN ref.books b ON f.id = b.id",
        schema=schema,
    )
    assert got == {
        "out_t.id": {"sales.fills.id"},
        "out_t.qty": {"sales.fills.qty"},
        "out_t.desk": {"ref.books.desk"},
    }


def test_schema_resolves_unqualified_columns_in_joins() -> None:
    schema = {
        "trades": {"trade_id": "int", "book_id": "int", "qty": "int"},
        "books": {"book_id": "int", "desk": "text"},
    }
    got = edges(
        "INSERT INTO tb SELECT trade_id, desk, qty FROM trades t JOIN books b ON t.book_id = b.book_id",
        schema=schema,
    )
    assert got == {"tb.trade_id": {"trades.trade_id"}, "tb.desk": {"books.desk"}, "tb.qty": {"trades.qty"}}


def test_ambiguous_without_schema_is_diagnosed() -> None:
    res = extract("INSERT INTO tb SELECT desk FROM trades t JOIN books b ON t.book_id = b.book_id", "")
    assert "ambiguous_column" in codes(res)
    assert direct(res.statements[0]) == {"tb.desk": {"desk"}}


def test_unresolved_column_through_derived_table() -> None:
    res = extract("SELECT x.missing FROM (SELECT a FROM t) x", "")
    assert "unresolved_column" in codes(res)


def test_using_join_merges_both_sides() -> None:
    got = edges(
        "INSERT INTO o SELECT acct FROM (SELECT acct FROM cash) c LEFT JOIN (SELECT acct FROM margin) m USING (acct)"
    )
    assert got == {"o.acct": {"cash.acct", "margin.acct"}}


def test_unaliased_derived_tables_do_not_break_resolution() -> None:
    got = edges(
        "INSERT INTO o SELECT acct FROM (SELECT acct FROM cash) JOIN (SELECT id FROM margin) ON acct = id"
    )
    assert got == {"o.acct": {"cash.acct"}}


def test_cte_name_and_qualified_table_with_same_name() -> None:
    res = extract("WITH px AS (SELECT * FROM mkt.prices) SELECT * FROM px CROSS JOIN ref.px", "")
    assert set(res.statements[0].source_tables) == {"mkt.prices", "ref.px"}


def test_spark_lateral_view_explode() -> None:
    got = edges(
        "INSERT INTO legs SELECT t.trade_id, leg FROM trades t LATERAL VIEW explode(t.legs) l AS leg",
        "spark",
    )
    assert got == {"legs.trade_id": {"trades.trade_id"}, "legs.leg": {"trades.legs"}}


def test_bigquery_unnest() -> None:
    got = edges(
        "INSERT INTO ds.tags SELECT p.id, tag FROM ds.portfolios AS p CROSS JOIN UNNEST(p.tags) AS tag",
        "bigquery",
    )
    assert got == {"ds.tags.id": {"ds.portfolios.id"}, "ds.tags.tag": {"ds.portfolios.tags"}}


def test_postgres_lateral_subquery() -> None:
    got = edges(
        "INSERT INTO last_px SELECT s.sym, l.px FROM symbols s CROSS JOIN LATERAL "
        "(SELECT q.px FROM quotes q WHERE q.sym = s.sym ORDER BY q.ts DESC LIMIT 1) l",
        "postgres",
    )
    # the outer column the LATERAL subquery is correlated on picks the value (DataHub's answer)
    assert got == {"last_px.sym": {"symbols.sym"}, "last_px.px": {"quotes.px", "symbols.sym"}}


def test_struct_field_goes_to_the_nested_path() -> None:
    got = edges("INSERT INTO o SELECT t.trade.price AS px FROM trades t", "spark")
    assert got == {"o.px": {"trades.trade.price"}}


def test_lateral_alias_reference() -> None:
    schema = {"trades": {"qty": "int", "px": "double"}}
    got = edges(
        "INSERT INTO o SELECT qty * px AS notional, notional * 0.01 AS fee FROM trades",
        "snowflake",
        schema=schema,
    )
    assert got == {"o.notional": {"trades.qty", "trades.px"}, "o.fee": {"trades.qty", "trades.px"}}


def test_lateral_alias_option_without_schema() -> None:
    sql = "INSERT INTO o SELECT qty * px AS notional, notional * 0.01 AS fee FROM trades"
    assert edges(sql)["o.fee"] == {"trades.notional"}
    assert edges(sql, lateral_alias=True)["o.fee"] == {"trades.qty", "trades.px"}


def test_identifier_case_normalised_per_dialect() -> None:
    assert edges("INSERT INTO Risk.Exposure SELECT Acct FROM Positions", "postgres") == {
        "risk.exposure.acct": {"positions.acct"}
    }
    assert edges('INSERT INTO "Risk"."Exposure" SELECT "Acct" FROM positions', "postgres") == {
        "Risk.Exposure.Acct": {"positions.Acct"}
    }
    # unquoted names are lower-case in every dialect; a quoted upper-case name is the same object
    # as the unquoted one in Snowflake/Oracle, a quoted mixed-case one keeps its case
    assert edges('INSERT INTO Risk.Exposure SELECT Acct, "ACCT_CCY", "Desk" FROM POSITIONS', "snowflake") == {
        "risk.exposure.acct": {"positions.acct"},
        "risk.exposure.acct_ccy": {"positions.acct_ccy"},
        "risk.exposure.Desk": {"positions.Desk"},
    }
    assert edges(
        "INSERT INTO CRD.EXPOSURE_NET SELECT EXPOSURE_NET_OF_COLLATERAL FROM CRD.EXPOSURE", "oracle"
    ) == {"crd.exposure_net.exposure_net_of_collateral": {"crd.exposure.exposure_net_of_collateral"}}
    assert edges("INSERT INTO [Risk].[Exposure] SELECT [Acct] FROM Positions", "tsql") == {
        "risk.exposure.acct": {"positions.acct"}
    }
    assert edges("INSERT INTO Ledger.Fees SELECT `Fee` FROM Ledger.Raw", "mysql") == {
        "ledger.fees.Fee": {"ledger.raw.Fee"}
    }


def test_count_star_has_row_dependency() -> None:
    got = edges("SELECT COUNT(*) AS n FROM trades")
    assert got == {"n": {"trades.*"}}


def test_correlated_subquery_in_where_is_indirect() -> None:
    res = extract(
        "INSERT INTO active SELECT a.id FROM accounts a WHERE EXISTS "
        "(SELECT 1 FROM trades t WHERE t.account_id = a.id AND t.dt > a.opened)",
        "",
    )
    st = res.statements[0]
    assert direct(st) == {"active.id": {"accounts.id"}}
    assert {"trades.account_id", "accounts.opened"} <= indirect(st)["active.id"]


def test_group_by_having_are_indirect() -> None:
    res = extract(
        "INSERT INTO desk_pnl SELECT desk, SUM(pnl) AS pnl FROM trades GROUP BY desk HAVING COUNT(trader) > 2",
        "",
    )
    assert indirect(res.statements[0])["desk_pnl.pnl"] == {"trades.desk", "trades.trader"}


def test_pg_cast_shorthand_keeps_column_name() -> None:
    assert edges("INSERT INTO o SELECT px::numeric FROM quotes") == {"o.px": {"quotes.px"}}
    assert set(edges("INSERT INTO o SELECT CAST(px AS INT) FROM quotes", "spark")) == {"o._col_0"}
    assert edges("INSERT INTO o SELECT CAST(px AS INT) FROM quotes", "postgres") == {"o.px": {"quotes.px"}}
