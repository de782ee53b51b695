"""Robustness: garbage, binary and enormous input give diagnostics, never a crash or a hang."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finlineage.lineage import LineageResult, extract

DIALECTS = ["", "postgres", "tsql", "spark", "snowflake", "bigquery", "mysql", "oracle", "hive"]
SQL_WORDS = [
    "SELECT",
    "FROM",
    "WHERE",
    "INSERT",
    "INTO",
    "UPDATE",
    "SET",
    "MERGE",
    "USING",
    "WHEN",
    "THEN",
    "WITH",
    "AS",
    "(",
    ")",
    ",",
    ";",
    "*",
    "JOIN",
    "ON",
    "UNION",
    "ALL",
    "CASE",
    "END",
    "GO",
    "BEGIN",
    "trades",
    "t.qty",
    "px",
    "'x'",
    "1",
    "$$",
    "--",
    "/*",
    "*/",
    "#tmp",
    "@v",
    "EXEC",
    "CREATE",
    "TABLE",
    "VIEW",
    "PROCEDURE",
    "OVER",
    "PARTITION",
    "BY",
    "LATERAL",
    "=",
    "+",
    ".",
    "`",
    '"',
    "[",
]

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(res: LineageResult) -> None:
    assert isinstance(res, LineageResult)
    res.to_dict()  # serialisable
    for s in res.statements:
        assert s.line_start <= s.line_end


@FAST
@given(text=st.text(max_size=400), dialect=st.sampled_from(DIALECTS))
def test_arbitrary_text_never_raises(text: str, dialect: str) -> None:
    _check(extract(text, dialect))


@FAST
@given(data=st.binary(max_size=400), dialect=st.sampled_from(DIALECTS))
def test_binary_never_raises(data: bytes, dialect: str) -> None:
    _check(extract(data, dialect))


@FAST
@given(words=st.lists(st.sampled_from(SQL_WORDS), max_size=60), dialect=st.sampled_from(DIALECTS))
def test_sql_shaped_garbage_never_raises(words: list[str], dialect: str) -> None:
    _check(extract(" ".join(words), dialect))


@FAST
@given(
    cols=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=6, unique=True),
    table=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
)
def test_generated_insert_select_maps_every_column(cols: list[str], table: str) -> None:
    sql = f"INSERT INTO tgt_x ({', '.join(cols)}) SELECT {', '.join('s.' + c for c in cols)} FROM {table} s"
    res = extract(sql, "")
    st0 = res.statements[0]
    if st0.diagnostics and any(d.code == "parse_error" for d in st0.diagnostics):
        return  # a generated name may be a reserved word
    edges = {e.target: e.sources for e in st0.column_edges if e.kind == "direct"}
    assert edges == {f"tgt_x.{c}": (f"{table}.{c}",) for c in cols}


@pytest.mark.timeout(240)  # a hang fails the test; throughput is measured in bench/
def test_enormous_input_is_bounded() -> None:
    sql = "INSERT INTO t SELECT a FROM b;\n" * 20000
    res = extract(sql, "")
    assert len(res.statements) == 20000


@pytest.mark.timeout(240)
def test_enormous_single_statement_is_bounded() -> None:
    sql = "SELECT " + " + ".join(f"c{i}" for i in range(50000)) + " FROM t"
    res = extract(sql, "")
    _check(res)


# ------------------------------------------------------------------ identifier case, star expansion
_IDENT = st.from_regex(r"[a-z][a-z_]{2,9}", fullmatch=True).filter(lambda s: s.upper() not in _RESERVED)
_RESERVED = {w.upper() for w in SQL_WORDS} | {
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "ASC",
    "BETWEEN",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "CROSS",
    "CURRENT_DATE",
    "DEFAULT",
    "DESC",
    "DISTINCT",
    "ELSE",
    "EXCEPT",
    "EXISTS",
    "FALSE",
    "FETCH",
    "FOR",
    "FULL",
    "GRANT",
    "GROUP",
    "HAVING",
    "IN",
    "INNER",
    "INTERVAL",
    "INTERSECT",
    "IS",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NATURAL",
    "NOT",
    "NULL",
    "OF",
    "OFFSET",
    "OR",
    "ORDER",
    "OUTER",
    "QUALIFY",
    "RIGHT",
    "ROW",
    "ROWS",
    "SOME",
    "TO",
    "TRUE",
    "UNIQUE",
    "USER",
    "VALUES",
    "WINDOW",
    "LEVEL",
    "ROWNUM",
    "ROWID",
    "SYSDATE",
    "UID",
    "SESSION_USER",
    "CURRENT_USER",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "TABLESAMPLE",
    "TOP",
    "KEY",
    "INDEX",
    "PRIMARY",
    "FOREIGN",
    "REFERENCES",
    "CONSTRAINT",
    "RETURNING",
    "MINUS",
    "START",
    "CONNECT",
}
_CASE_INSENSITIVE = [
    "",
    "postgres",
    "tsql",
    "spark",
    "snowflake",
    "bigquery",
    "mysql",
    "oracle",
    "redshift",
    "databricks",
]


def _recase(name: str, mask: list[bool]) -> str:
    return "".join(c.upper() if m else c for c, m in zip(name, mask + [False] * len(name), strict=False))


def _direct(res: LineageResult) -> dict[str, set[str]]:
    return {e.target: set(e.sources) for s in res.statements for e in s.column_edges if e.kind == "direct"}


@FAST
@given(
    col=_IDENT,
    spelled=st.lists(st.booleans(), min_size=10, max_size=10),
    written=st.lists(st.booleans(), min_size=10, max_size=10),
    dialect=st.sampled_from(_CASE_INSENSITIVE),
)
def test_unquoted_column_in_any_case_resolves_to_the_schema_column(
    col: str, spelled: list[bool], written: list[bool], dialect: str
) -> None:
    """Unquoted identifiers are case-insensitive in every dialect: whatever case the query and the
    schema spell a column in, the reference resolves to that one schema column (lower-case name)."""
    schema = {"fin.ledger": {_recase(col, spelled): "int", "zz_other": "int"}}
    res = extract(
        f"INSERT INTO fin.out_t SELECT {_recase(col, written)} FROM fin.ledger", dialect, schema=schema
    )
    assert _direct(res) == {f"fin.out_t.{col}": {f"fin.ledger.{col}"}}


@FAST
@given(col=_IDENT, spelled=st.lists(st.booleans(), min_size=10, max_size=10))
def test_snowflake_quoted_upper_case_is_the_unquoted_name(col: str, spelled: list[bool]) -> None:
    """Snowflake folds unquoted names to upper case: `"COL"` and `col` are one column, and both find
    the schema's column whatever case the schema spells it in."""
    schema = {"fin.ledger": {_recase(col, spelled): "number"}}
    res = extract(f'SELECT "{col.upper()}" AS a, {col} AS b FROM fin.ledger', "snowflake", schema=schema)
    assert _direct(res) == {"a": {f"fin.ledger.{col}"}, "b": {f"fin.ledger.{col}"}}


@FAST
@given(
    cols=st.lists(_IDENT, min_size=1, max_size=6, unique=True),
    other=st.lists(_IDENT, min_size=1, max_size=4, unique=True),
    drop=st.integers(min_value=0, max_value=5),
    dialect=st.sampled_from(["bigquery", "snowflake", "databricks", "duckdb"]),
)
def test_star_expands_against_the_schema(cols: list[str], other: list[str], drop: int, dialect: str) -> None:
    """`*` and `t.*` expand to the supplied schema's columns in order, EXCEPT/EXCLUDE removes
    columns, and a CROSS JOIN contributes the other table's columns only to an unqualified `*`."""
    other = [c for c in other if c not in cols] or ["zz_extra"]
    schema = {"d.src": dict.fromkeys(cols, "int"), "d.oth": dict.fromkeys(other, "int")}
    removed = cols[:drop] if drop < len(cols) else []
    except_kw = {"bigquery": "EXCEPT", "databricks": "EXCEPT", "snowflake": "EXCLUDE", "duckdb": "EXCLUDE"}[
        dialect
    ]
    star = f"s.* {except_kw} ({', '.join(removed)})" if removed else "s.*"
    res = extract(f"INSERT INTO d.tgt SELECT {star} FROM d.src s CROSS JOIN d.oth o", dialect, schema=schema)
    assert _direct(res) == {f"d.tgt.{c}": {f"d.src.{c}"} for c in cols if c not in removed}
    res = extract("CREATE TABLE d.all_cols AS SELECT * FROM d.src CROSS JOIN d.oth", dialect, schema=schema)
    expected = {f"d.all_cols.{c}": {f"d.src.{c}"} for c in cols} | {
        f"d.all_cols.{c}": {f"d.oth.{c}"} for c in other
    }
    assert _direct(res) == expected
