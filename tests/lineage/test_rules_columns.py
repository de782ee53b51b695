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
