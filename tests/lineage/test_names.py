"""Dialect names, identifier normalisation, table naming and the schema index."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from finlineage.lineage.names import SchemaIndex, canonical_dialect, normalize_name, table_name


@pytest.mark.parametrize(
    "given,expected",
    [
        ("", ""),
        ("ANSI", ""),
        ("sparksql", "spark"),
        ("greenplum", "postgres"),
        ("Snowflake", "snowflake"),
        ("auto", "auto"),
    ],
)
def test_canonical_dialect(given: str, expected: str) -> None:
    assert canonical_dialect(given) == expected


def test_canonical_dialect_unknown() -> None:
    with pytest.raises(ValueError):
        canonical_dialect("fortran")


def test_normalize_name_per_dialect() -> None:
    assert normalize_name("Trades", "postgres") == "trades"
    assert normalize_name("Trades", "postgres", quoted=True) == "Trades"
    # canonical names: unquoted identifiers are lower-case in every dialect
    assert normalize_name("Trades", "snowflake") == "trades"
    assert normalize_name("TRADES", "oracle") == "trades"
    assert normalize_name("Trades", "clickhouse") == "trades"
    assert normalize_name("Trades", "mysql") == "trades"
    # quoted: kept where quoted names are case-sensitive, lower-cased where they are not
    assert normalize_name("Trades", "snowflake", quoted=True) == "Trades"
    assert normalize_name("TRADES", "snowflake", quoted=True) == "trades"  # same object as trades
    assert normalize_name("Trades", "mysql", quoted=True) == "Trades"
    assert normalize_name("Trades", "bigquery", quoted=True) == "trades"  # case-insensitive
    assert normalize_name("Trades", "tsql", quoted=True) == "trades"


def _table(sql: str, dialect: str = "") -> exp.Table:
    node = sqlglot.parse_one(f"SELECT * FROM {sql}", dialect=dialect or None).find(exp.Table)
    assert node is not None
    return node


def test_table_name_defaults_and_temporaries() -> None:
    assert table_name(_table("positions"), default_db="prod", default_schema="risk") == "prod.risk.positions"
    assert table_name(_table("ref.fx"), default_db="prod", default_schema="risk") == "prod.ref.fx"
    assert table_name(_table("cat.ref.fx"), default_db="prod", default_schema="risk") == "cat.ref.fx"
    assert table_name(_table("#tmp", "tsql"), default_db="prod", default_schema="dbo") == "#tmp"
    assert table_name(_table("##g", "tsql")) == "##g"
    assert table_name(_table("@tv", "tsql")) == "@tv"


def test_schema_index_suffix_lookup() -> None:
    idx = SchemaIndex("postgres")
    idx.add_user_schema({"Prod.Risk.Positions": {"Acct": "int"}, "ref.fx": {"ccy": "text"}, "bad": 3})  # type: ignore[dict-item]
    assert idx.columns("positions") == ["acct"]
    assert idx.columns("risk.positions") == ["acct"]
    assert idx.columns("prod.risk.positions") == ["acct"]
    assert idx.columns("fx") == ["ccy"]
    assert idx.columns("nope") is None
    idx.add("other.fx", ["x"])
    assert idx.columns("fx") is None  # ambiguous suffix
    assert idx.columns("ref.fx") == ["ccy"]
    idx.remove("ref.fx")
    assert idx.columns("fx") == ["x"]
