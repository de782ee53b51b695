"""Column-lineage rules: nested fields, identifier case, star expansion, BigQuery table names,
CREATE TABLE without a query, LATERAL/correlated subqueries (own SQL, per dialect)."""

from __future__ import annotations

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from finlineage.lineage import extract
from finlineage.lineage.names import bigquery_table_family

from .helpers import codes, direct, indirect


def _direct(sql: str, dialect: str = "", **kw: object) -> dict[str, set[str]]:
    res = extract(sql, dialect, **kw)  # type: ignore[arg-type]
    return direct(res.statements[-1])


# ------------------------------------------------------------------ nested fields
@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "spark", "databricks"])
def test_struct_path_goes_to_the_nested_field(dialect: str) -> None:
    schema = {"crm.accounts": {"holder": "struct", "acct_no": "int"}}
    got = _direct(
        "INSERT INTO crm.mailing SELECT a.holder.address.postcode AS pc, acct_no FROM crm.accounts a",
        dialect,
        schema=schema,
    )
    assert got == {
        "crm.mailing.pc": {"crm.accounts.holder.address.postcode"},
        "crm.mailing.acct_no": {"crm.accounts.acct_no"},
    }


def test_unqualified_struct_path_inside_a_function_uses_the_schema() -> None:
    schema = {"crm.accounts": {"holder": "struct"}, "crm.branches": {"branch_id": "int", "city": "string"}}
    got = _direct(
        "SELECT LOWER(holder.address.city) AS c, city FROM crm.accounts JOIN crm.branches ON TRUE",
        "bigquery",
        schema=schema,
    )
    assert got == {"c": {"crm.accounts.holder.address.city"}, "city": {"crm.branches.city"}}


def test_deep_struct_path_beyond_four_parts() -> None:
    got = _direct("SELECT p.doc.meta.src.sys.code AS code FROM ledger.postings p", "bigquery")
    assert got == {"code": {"ledger.postings.doc.meta.src.sys.code"}}


def test_struct_path_through_a_derived_copy_of_the_column() -> None:
    got = _direct(
        "SELECT d.holder.name AS n FROM (SELECT holder FROM crm.accounts) d",
        "spark",
    )
    assert got == {"n": {"crm.accounts.holder.name"}}


def test_three_part_column_reference_is_still_schema_table_column() -> None:
    got = _direct("SELECT risk.limits.cap FROM risk.limits", "postgres")
    assert got == {"cap": {"risk.limits.cap"}}


# ------------------------------------------------------------------ identifier case
def test_snowflake_quoted_mixed_case_finds_the_schema_column() -> None:
    schema = {"SALES.INVOICES": {"NETAMOUNT": "number", "CUST": "number"}}
    got = _direct(
        'INSERT INTO sales.rpt SELECT "NetAmount", cust FROM Sales.Invoices', "snowflake", schema=schema
    )
    assert got == {
        "sales.rpt.NetAmount": {"sales.invoices.netamount"},
        "sales.rpt.cust": {"sales.invoices.cust"},
    }


def test_case_decides_between_two_tables_with_a_schema() -> None:
    schema = {"a.fx": {"RATE": "number", "ccy": "text"}, "a.px": {"price": "number", "ccy2": "text"}}
    got = _direct("SELECT Rate, PRICE FROM a.fx CROSS JOIN a.px", "snowflake", schema=schema)
    assert got == {"rate": {"a.fx.rate"}, "price": {"a.px.price"}}


def _plain_word(word: str) -> bool:
    """A word Snowflake reads as a plain identifier (not a keyword or a function name)."""
    tokens = sqlglot.tokenize(word, read="snowflake")
    if len(tokens) != 1 or tokens[0].token_type != sqlglot.TokenType.VAR:
        return False
    projection = sqlglot.parse_one(f"SELECT {word} FROM t", read="snowflake").expressions[0]
    return isinstance(projection, sqlglot.exp.Column)


_IDENT = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True).filter(_plain_word)


@settings(max_examples=60, deadline=None)
@given(col=_IDENT, flips=st.lists(st.booleans(), min_size=12, max_size=12))
def test_property_unquoted_column_in_any_case_resolves_to_the_schema_name(
    col: str, flips: list[bool]
) -> None:
    """Snowflake folds unquoted names: any spelling of the column finds the schema's column,
    reported in the schema's canonical (lower-case) form."""
    spelled = "".join(c.upper() if f else c.lower() for c, f in zip(col, flips, strict=False))
    spelled += col[len(flips) :]
    schema = {"core.book": {col.upper(): "number", "zz_other": "number"}}
    res = extract(
        f"INSERT INTO core.copy SELECT {spelled} FROM core.book CROSS JOIN core.other",
        "snowflake",
        schema=schema,
    )
    got = direct(res.statements[-1])
    assert got == {f"core.copy.{spelled.lower()}": {f"core.book.{col.lower()}"}}
    assert "ambiguous_column" not in codes(res)


@settings(max_examples=60, deadline=None)
@given(col=_IDENT)
def test_property_quoted_exact_case_resolves_in_snowflake(col: str) -> None:
    schema = {"core.book": {col: "number"}}
    got = _direct(f'SELECT "{col}" AS v FROM core.book', "snowflake", schema=schema)
    assert got == {"v": {f"core.book.{col.lower()}"}}


# ------------------------------------------------------------------ stars
_SCHEMA = {
    "m.trades": {"tid": "int", "qty": "int", "px": "float"},
    "m.books": {"book": "text", "desk": "text"},
}


def test_star_except_and_replace() -> None:
    got = _direct(
        "INSERT INTO m.out SELECT * EXCEPT (px) REPLACE (qty * 2 AS qty) FROM m.trades",
        "bigquery",
        schema=_SCHEMA,
    )
    assert got == {"m.out.tid": {"m.trades.tid"}, "m.out.qty": {"m.trades.qty"}}
    got = _direct("SELECT * REPLACE (px AS qty) FROM m.trades", "bigquery", schema=_SCHEMA)
    assert got == {"tid": {"m.trades.tid"}, "qty": {"m.trades.px"}, "px": {"m.trades.px"}}


def test_snowflake_star_rename() -> None:
    got = _direct("SELECT * RENAME (px AS price) FROM m.trades", "snowflake", schema=_SCHEMA)
    assert got == {"tid": {"m.trades.tid"}, "qty": {"m.trades.qty"}, "price": {"m.trades.px"}}


def test_star_over_cross_join_and_qualified_star() -> None:
    got = _direct("SELECT * FROM m.trades CROSS JOIN m.books", "", schema=_SCHEMA)
    assert set(got) == {"tid", "qty", "px", "book", "desk"}
    got = _direct("SELECT b.*, t.tid FROM m.trades t, m.books b", "", schema=_SCHEMA)
    assert got == {"book": {"m.books.book"}, "desk": {"m.books.desk"}, "tid": {"m.trades.tid"}}


@settings(max_examples=40, deadline=None)
@given(
    cols=st.lists(st.from_regex(r"c[a-z0-9]{0,6}", fullmatch=True), min_size=1, max_size=8, unique=True),
    data=st.data(),
)
def test_property_star_expansion_matches_the_schema(cols: list[str], data: st.DataObject) -> None:
    excluded = data.draw(st.lists(st.sampled_from(cols), unique=True, max_size=len(cols) - 1))
    schema = {"w.src": {c: "int" for c in cols}}
    ex = f" EXCEPT ({', '.join(excluded)})" if excluded else ""
    got = _direct(f"INSERT INTO w.dst SELECT *{ex} FROM w.src", "bigquery", schema=schema)
    assert got == {f"w.dst.{c}": {f"w.src.{c}"} for c in cols if c not in excluded}


# ------------------------------------------------------------------ BigQuery table names
@pytest.mark.parametrize(
    ("raw", "family"),
    [
        ("ledger_20240131", "ledger_yyyymmdd"),
        ("ledger20240131", "ledger_yyyymmdd"),
        ("ledger_2024*", "ledger_yyyymmdd"),
        ("ledger_*", "ledger_yyyymmdd"),
        ("ledger$20240131", "ledger"),
        ("ledger$__unpartitioned__", "ledger"),
        ("ledger@1700000000000", "ledger"),
        ("ledger_2024", "ledger_2024"),
        ("ledger_20241399", "ledger_20241399"),
        ("plain", "plain"),
    ],
)
def test_bigquery_table_family(raw: str, family: str) -> None:
    assert bigquery_table_family(raw) == family


def test_bigquery_shards_and_decorators_resolve_against_the_schema() -> None:
    schema = {
        "acme.web.hits_yyyymmdd": {"uid": "string", "ts": "timestamp"},
        "acme.web.daily": {"uid": "string"},
    }
    res = extract(
        "INSERT INTO `acme.web.daily$20240101` SELECT * EXCEPT (ts) FROM `acme.web.hits_2024*` "
        "WHERE _TABLE_SUFFIX > '0101'",
        "bigquery",
        schema=schema,
    )
    st_ = res.statements[-1]
    assert st_.target_tables == ("acme.web.daily",)
    assert st_.source_tables == ("acme.web.hits_yyyymmdd",)
    assert direct(st_) == {"acme.web.daily.uid": {"acme.web.hits_yyyymmdd.uid"}}
    got = _direct("SELECT uid FROM `acme.web.hits_20240102`", "bigquery", schema=schema)
    assert got == {"uid": {"acme.web.hits_yyyymmdd.uid"}}


# ------------------------------------------------------------------ CREATE TABLE without a query
@pytest.mark.parametrize("dialect", ["", "postgres", "snowflake", "bigquery", "tsql"])
def test_create_table_with_columns_has_outputs_without_upstream(dialect: str) -> None:
    res = extract("CREATE TABLE fin.gl_lines (line_id INT, amount DECIMAL(18, 2))", dialect)
    st_ = res.statements[0]
    assert direct(st_) == {"fin.gl_lines.line_id": set(), "fin.gl_lines.amount": set()}


# ------------------------------------------------------------------ LATERAL / correlated
def test_lateral_correlation_picks_the_value_and_selected_columns_come_from_inner_table() -> None:
    # a LATERAL subquery runs per outer row: the outer column it is correlated on picks the value
    # (direct and CONDITIONAL, as a CASE condition; DataHub answers the same), the inner join
    # column is indirect only
    schema = {"ops.orders": {"oid": "int", "cust": "int"}, "ops.lines": {"oid": "int", "amt": "int"}}
    res = extract(
        "INSERT INTO ops.totals SELECT o.cust, x.total FROM ops.orders o, "
        "LATERAL (SELECT SUM(l.amt) AS total FROM ops.lines l WHERE l.oid = o.oid) x",
        "postgres",
        schema=schema,
    )
    st_ = res.statements[-1]
    assert direct(st_) == {
        "ops.totals.cust": {"ops.orders.cust"},
        "ops.totals.total": {"ops.lines.amt", "ops.orders.oid"},
    }
    assert {"ops.orders.oid", "ops.lines.oid"} <= indirect(st_)["ops.totals.total"]


def test_correlated_scalar_subquery_in_projection() -> None:
    schema = {"r.acct": {"id": "int", "name": "text"}, "r.bal": {"acct_id": "int", "amt": "int"}}
    res = extract(
        "INSERT INTO r.view1 SELECT a.name, (SELECT MAX(b.amt) FROM r.bal b WHERE b.acct_id = a.id) AS top "
        "FROM r.acct a",
        "snowflake",
        schema=schema,
    )
    st_ = res.statements[-1]
    assert direct(st_) == {"r.view1.name": {"r.acct.name"}, "r.view1.top": {"r.bal.amt"}}
    assert {"r.acct.id", "r.bal.acct_id"} <= indirect(st_)["r.view1.top"]


def test_quoted_mixed_case_table_takes_the_schema_spelling() -> None:
    schema = {"fin.core.ledger": {"amount": "number", "acct": "number"}}
    res = extract(
        'CREATE TABLE fin.core.copy AS SELECT "Amount", acct FROM "fin"."core"."Ledger"',
        "snowflake",
        schema=schema,
    )
    st_ = res.statements[0]
    assert st_.source_tables == ("fin.core.ledger",)
    assert direct(st_) == {
        "fin.core.copy.Amount": {"fin.core.ledger.amount"},
        "fin.core.copy.acct": {"fin.core.ledger.acct"},
    }


def test_postgres_quoted_case_stays_exact_without_a_schema() -> None:
    got = _direct('SELECT "Amount" FROM "Ledger"', "postgres")
    assert got == {"Amount": {"Ledger.Amount"}}


def test_star_over_using_join_yields_the_join_column_once() -> None:
    schema = {"m.a": {"k": "int", "y": "int"}, "m.b": {"k": "int", "x": "int"}}
    got = _direct("INSERT INTO m.o SELECT * FROM m.a FULL JOIN m.b USING (k)", "postgres", schema=schema)
    assert got == {"m.o.k": {"m.a.k", "m.b.k"}, "m.o.y": {"m.a.y"}, "m.o.x": {"m.b.x"}}


def test_split_column_ref_keeps_struct_paths_in_the_column() -> None:
    from finlineage.lineage.names import split_column_ref

    tables = ["shop.orders", "shop"]
    assert split_column_ref("shop.orders.customer.address.city", tables) == (
        "shop.orders",
        "customer.address.city",
    )
    assert split_column_ref("shop.orders.amount", tables) == ("shop.orders", "amount")
    assert split_column_ref("x.y.z") == ("x.y", "z")


def test_schema_with_dotted_nested_fields() -> None:
    schema = {"crm.accounts": {"holder.name": "string", "holder.tier": "int", "acct_no": "int"}}
    got = _direct(
        "SELECT holder.name AS n, UPPER(holder.tier) AS t FROM crm.accounts", "bigquery", schema=schema
    )
    assert got == {"n": {"crm.accounts.holder.name"}, "t": {"crm.accounts.holder.tier"}}


def test_star_over_natural_join_merges_shared_columns() -> None:
    schema = {"m.a": {"k": "int", "y": "int"}, "m.b": {"k": "int", "x": "int"}}
    got = _direct("INSERT INTO m.o SELECT * FROM m.a NATURAL JOIN m.b", "postgres", schema=schema)
    assert got == {"m.o.k": {"m.a.k", "m.b.k"}, "m.o.y": {"m.a.y"}, "m.o.x": {"m.b.x"}}


def test_set_operation_branches_of_different_widths_are_reported() -> None:
    res = extract("INSERT INTO dw.pos SELECT qty FROM s.a UNION ALL SELECT px, qty FROM s.b", "")
    (st,) = res.statements
    assert [d.code for d in st.diagnostics] == ["set_operation_columns"]
    assert [e.target for e in st.column_edges] == ["dw.pos.qty"]
    ok = extract("INSERT INTO dw.pos SELECT qty FROM s.a UNION ALL SELECT qty FROM s.b", "")
    assert not ok.statements[0].diagnostics


# ------------------------------------------------------------------ alias column lists, windows, table functions
@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "bigquery", "tsql"])
def test_cte_and_derived_table_column_lists_name_the_outputs(dialect: str) -> None:
    got = _direct(
        "WITH agg (desk, total) AS (SELECT desk_id, SUM(pnl) FROM risk.pnl GROUP BY desk_id) "
        "SELECT d.desk, d.total, x.b FROM agg AS d JOIN (SELECT acct, bal FROM risk.bal) AS x (a, b) ON x.a = d.desk",
        dialect,
    )
    assert got == {"desk": {"risk.pnl.desk_id"}, "total": {"risk.pnl.pnl"}, "b": {"risk.bal.bal"}}


def test_named_window_partition_and_order_are_window_indirect() -> None:
    res = extract(
        "INSERT INTO rpt.run SELECT acct, SUM(amt) OVER w AS running FROM core.tx WINDOW w AS (PARTITION BY acct ORDER BY ts)",
        "bigquery",
    )
    st_ = res.statements[-1]
    assert direct(st_)["rpt.run.running"] == {"core.tx.amt"}
    window = {
        s
        for e in st_.column_edges
        if e.target == "rpt.run.running" and e.subtype == "WINDOW"
        for s in e.sources
    }
    assert window == {"core.tx.acct", "core.tx.ts"}


def test_lateral_correlation_column_is_also_conditional() -> None:
    res = extract(
        "INSERT INTO ops.last_px SELECT s.sym, l.px FROM ops.symbols s CROSS JOIN LATERAL "
        "(SELECT q.px FROM ops.quotes q WHERE q.sym = s.sym ORDER BY q.ts DESC LIMIT 1) l",
        "postgres",
    )
    st_ = res.statements[-1]
    cond = {
        s
        for e in st_.column_edges
        if e.target == "ops.last_px.px" and e.subtype == "CONDITIONAL"
        for s in e.sources
    }
    assert cond == {"ops.symbols.sym"}


def test_star_over_a_computed_row_gives_no_columns() -> None:
    res = extract(
        "SELECT 1 AS f, IF(a.id IS NULL, b, a).* FROM crm.p1 a FULL JOIN crm.p2 b USING (id)",
        "bigquery",
        schema={"crm.p1": {"id": "int"}, "crm.p2": {"id": "int"}},
    )
    assert direct(res.statements[-1]) == {"f": set()}
    assert "star_unexpanded" in codes(res)


def test_clickhouse_dictionary_name_is_no_column_and_mv_to_writes_the_to_table() -> None:
    got = _direct("SELECT dictGetString(fx.rates_dict, 'rate', ccy) AS r FROM fx.ticks", "clickhouse")
    assert got == {"r": {"fx.ticks.ccy"}}
    res = extract(
        "CREATE MATERIALIZED VIEW fx.mv_ticks TO fx.tick_daily AS SELECT toDate(ts) AS d, ccy FROM fx.ticks",
        "clickhouse",
    )
    st_ = res.statements[-1]
    assert st_.target_tables == ("fx.tick_daily",)
    assert direct(st_) == {"fx.tick_daily.d": {"fx.ticks.ts"}, "fx.tick_daily.ccy": {"fx.ticks.ccy"}}
    assert [o.name for o in res.objects] == ["fx.mv_ticks"]


def test_merge_update_set_star_and_insert_star() -> None:
    schema = {"dw.acct": {"id": "bigint", "bal": "decimal"}, "stg.acct": {"id": "bigint", "bal": "decimal"}}
    got = _direct(
        "MERGE INTO dw.acct t USING stg.acct s ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
        "databricks",
        schema=schema,
    )
    assert got == {"dw.acct.id": {"stg.acct.id"}, "dw.acct.bal": {"stg.acct.bal"}}


def test_table_function_arguments_are_read_and_pass_their_columns() -> None:
    res = extract(
        "SELECT p.loan_id FROM ML.PREDICT(MODEL risk.pd_model, TABLE risk.features) AS p", "bigquery"
    )
    st_ = res.statements[-1]
    assert set(st_.source_tables) == {"risk.pd_model", "risk.features"}
    assert direct(st_) == {"loan_id": {"risk.features.loan_id"}}
    got = _direct("SELECT region FROM SEMANTIC_VIEW(sem.sales_sv DIMENSIONS region)", "snowflake")
    assert got == {"region": {"sem.sales_sv.region"}}


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "databricks"])
def test_pivot_columns_come_from_the_aggregate_picked_by_the_for_column(dialect: str) -> None:
    schema = {"risk.expo": {"desk": "string", "ccy": "string", "notional": "decimal"}}
    got = _direct(
        "INSERT INTO rpt.by_ccy SELECT * FROM risk.expo PIVOT (SUM(notional) FOR ccy IN ('EUR' AS eur, 'USD' AS usd))",
        dialect,
        schema=schema,
    )
    both = {"risk.expo.notional", "risk.expo.ccy"}
    assert got == {"rpt.by_ccy.desk": {"risk.expo.desk"}, "rpt.by_ccy.eur": both, "rpt.by_ccy.usd": both}


def test_unpivot_value_column_comes_from_every_listed_column() -> None:
    schema = {"risk.expo": {"desk": "string", "gross": "decimal", "net": "decimal"}}
    got = _direct(
        "SELECT * FROM risk.expo UNPIVOT (amount FOR measure IN (gross, net))", "snowflake", schema=schema
    )
    assert got == {
        "desk": {"risk.expo.desk"},
        "amount": {"risk.expo.gross", "risk.expo.net"},
        "measure": set(),
    }


def test_formulas_go_through_lateral_subqueries_and_alias_column_lists() -> None:
    def formulas(sql: str) -> dict[str, str]:
        st_ = extract(sql, "postgres").statements[-1]
        return {e.target: e.formula for e in st_.column_edges if e.kind == "direct"}

    got = formulas(
        "INSERT INTO ops.l SELECT l.px * 2 AS px FROM ops.s s "
        "CROSS JOIN LATERAL (SELECT q.px FROM ops.q q WHERE q.sym = s.sym LIMIT 1) l"
    )
    assert got == {"ops.l.px": "ops.q.px * 2"}
    got = formulas("INSERT INTO r.y SELECT d.a + d.b AS t FROM (SELECT acct, bal FROM core.b) AS d (a, b)")
    assert got == {"r.y.t": "core.b.acct + core.b.bal"}


def test_group_by_and_order_by_an_output_alias_read_the_aliased_expression() -> None:
    res = extract(
        "INSERT INTO fx.daily SELECT toDate(ts) AS d, ccy FROM fx.ticks GROUP BY d, ccy ORDER BY d",
        "clickhouse",
    )
    ind = indirect(res.statements[-1])
    assert ind["fx.daily.d"] == {"fx.ticks.ts", "fx.ticks.ccy"}  # never a phantom fx.ticks.d
