"""No phantom objects: over generated procedure bodies (PL/pgSQL, PL/SQL, T-SQL, MySQL, BigQuery
scripting), no table or column the engine reports is named after SQL text, and no variable is
ever read or written as a column."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finlineage.lineage import LineageResult, extract

TABLES = ["bank.accounts", "bank.loans", "ops.jobs", "ref.fx_rates"]
COLUMNS = ["amount", "balance", "rate", "branch_id", "prio"]
VARIABLES = ["v_total", "v_next", "v_rate"]
_KEYWORDS = re.compile(r"\b(?:select|from|where|coalesce|nextval|setval|values|into|case|when)\b", re.I)


def _assign(dialect: str, var: str, query: str) -> list[str]:
    """Ways to put the single value of `query` (a SELECT of one expression) into `var`."""
    ref = "@" + var if dialect == "tsql" else var
    head, _, rest = query.partition(" FROM ")
    expr = head.removeprefix("SELECT ")
    tail = f" FROM {rest}" if rest else ""
    forms = (
        [f"SET {ref} = ({query})"] if dialect in ("tsql", "mysql", "bigquery") else [f"{ref} := ({query})"]
    )
    if dialect == "tsql":
        forms.append(f"SELECT {ref} = {expr}{tail}")
    elif dialect != "bigquery":
        forms.append(f"SELECT {expr} INTO {ref}{tail}")
    return forms


@st.composite
def _statement(draw: st.DrawFn, dialect: str) -> str:
    table = draw(st.sampled_from(TABLES))
    col = draw(st.sampled_from(COLUMNS))
    var = draw(st.sampled_from(VARIABLES))
    ref = "@" + var if dialect == "tsql" else var
    other = draw(st.sampled_from(TABLES))
    queries = [
        f"SELECT MAX(x.{col}) FROM {table} x",
        f"SELECT COALESCE((SELECT MAX(y.{col}) FROM {other} y), 0) + 1 FROM {table} x",
        f"SELECT x.{col} * 2 FROM {table} x WHERE x.branch_id = 1",
        f"SELECT COUNT(*) FROM {table}",
    ]
    if dialect == "postgres":
        queries += ["SELECT nextval('ops.job_seq')", "SELECT setval('ops.job_seq', 1)"]
    if dialect == "oracle":
        queries += ["SELECT ops.job_seq.NEXTVAL FROM dual"]
    kind = draw(st.integers(0, 6))
    if kind <= 1:
        return draw(st.sampled_from(_assign(dialect, var, draw(st.sampled_from(queries)))))
    if kind == 2:
        return f"UPDATE {table} SET {col} = {ref} + {col} WHERE branch_id = {draw(st.sampled_from([ref, 'p_day']))}"
    if kind == 3:
        return f"INSERT INTO {table} ({col}, prio) VALUES ({ref}, (SELECT MAX(z.prio) FROM {other} z))"
    if kind == 4:  # one variable from another, or a constant
        src = (
            "@" + draw(st.sampled_from(VARIABLES)) if dialect == "tsql" else draw(st.sampled_from(VARIABLES))
        )
        value = draw(st.sampled_from([f"{src} * 2", "0", f"COALESCE({src}, 1)", "NULL"]))
        return f"SET {ref} = {value}" if dialect in ("tsql", "mysql", "bigquery") else f"{ref} := {value}"
    if kind == 5 and dialect in ("postgres", "oracle"):  # a record loop
        loop = "FOR rec IN (SELECT" if dialect == "oracle" else "FOR rec IN SELECT"
        close = ")" if dialect == "oracle" else ""
        return (
            f"{loop} x.{col}, x.branch_id FROM {table} x{close} LOOP "
            f"UPDATE {other} SET {col} = rec.{col} WHERE branch_id = rec.branch_id; END LOOP"
        )
    if kind == 6 and dialect in ("postgres", "oracle", "mysql"):  # a call binding the parameter
        call = {"postgres": "PERFORM ops.run", "oracle": "ops.run", "mysql": "CALL ops.run"}[dialect]
        return f"{call}({ref})"
    query = draw(st.sampled_from(queries))
    return query if dialect != "bigquery" else f"SELECT * FROM ({query})"


@st.composite
def _body(draw: st.DrawFn, dialect: str) -> list[str]:
    stmts = draw(st.lists(_statement(dialect), min_size=1, max_size=6))
    if len(stmts) >= 3 and draw(st.booleans()):  # wrap some in IF ... ELSE
        a, b, *rest = stmts
        if dialect == "tsql":
            stmts = [f"IF @v_rate > 0\n  BEGIN {a}; END\nELSE\n  BEGIN {b}; END", *rest]
        elif dialect == "bigquery":
            stmts = [f"IF v_rate > 0 THEN {a}; ELSE {b}; END IF", *rest]
        else:
            stmts = [f"IF v_rate > 0 THEN {a}; ELSE {b}; END IF", *rest]
    return stmts


def _script(dialect: str, stmts: list[str]) -> str:
    body = "\n  ".join(s + ";" for s in stmts)
    if dialect == "postgres":
        return (
            "CREATE FUNCTION ops.run(p_day date) RETURNS void LANGUAGE plpgsql AS $$\n"
            "DECLARE v_total numeric; v_next bigint; v_rate numeric;\n"
            f"BEGIN\n  {body}\nEND $$;"
        )
    if dialect == "oracle":
        return (
            "CREATE OR REPLACE PROCEDURE ops.run(p_day DATE) IS\n"
            "  v_total NUMBER; v_next NUMBER; v_rate NUMBER;\n"
            f"BEGIN\n  {body}\nEND;\n/"
        )
    if dialect == "oracle-package":  # the variables are the package's, shared by its routines
        return (
            "CREATE OR REPLACE PACKAGE BODY ops.jobs AS\n"
            "  v_total NUMBER; v_next NUMBER; v_rate NUMBER;\n"
            "  PROCEDURE run(p_day DATE) IS\n"
            f"  BEGIN\n  {body}\n  END run;\nEND jobs;\n/"
        )
    if dialect == "oracle-trigger":  # a compound trigger's declarations
        return (
            "CREATE OR REPLACE TRIGGER ops.trg_run FOR UPDATE ON ops.jobs COMPOUND TRIGGER\n"
            "  v_total NUMBER; v_next NUMBER; v_rate NUMBER;\n"
            f"  AFTER STATEMENT IS\n  BEGIN\n  {body}\n  END AFTER STATEMENT;\nEND trg_run;\n/"
        )
    if dialect == "tsql":
        return (
            "CREATE PROCEDURE ops.run @p_day DATE AS\nBEGIN\n"
            "  DECLARE @v_total MONEY, @v_next BIGINT, @v_rate MONEY;\n"
            f"  {body}\nEND\nGO"
        )
    if dialect == "mysql":
        return (
            "CREATE PROCEDURE ops.run(p_day DATE)\nBEGIN\n"
            "  DECLARE v_total DECIMAL(18,2); DECLARE v_next BIGINT; DECLARE v_rate DECIMAL(9,4);\n"
            f"  {body}\nEND"
        )
    return f"DECLARE v_total NUMERIC;\nDECLARE v_next INT64;\nDECLARE v_rate NUMERIC;\n{body}"


def _names(res: LineageResult) -> set[str]:
    names: set[str] = set()
    for s in res.statements:
        names.update(s.source_tables, s.target_tables)
        for e in s.column_edges:
            if "." in e.target:  # a plain SELECT's output names are not objects
                names.add(e.target)
            names.update(e.sources)
    names.update(res.rollup.source_tables, res.rollup.target_tables)
    for e in res.rollup.column_edges:
        names.add(e.target)
        names.update(e.sources)
    names.update(o.name for o in res.objects)
    return names


_SCRIPTS = st.sampled_from(
    ["postgres", "oracle", "oracle-package", "oracle-trigger", "tsql", "mysql", "bigquery"]
).flatmap(lambda d: _body(d.split("-")[0]).map(lambda stmts: (d.split("-")[0], _script(d, stmts))))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SCRIPTS)
def test_no_table_or_column_is_named_after_sql_text_or_a_variable(case: tuple[str, str]) -> None:
    dialect, sql = case
    res = extract(sql, dialect)
    for name in _names(res):
        assert "(" not in name and "\x00" not in name and not re.search(r"\s", name), (name, sql)
        assert not _KEYWORDS.search(name.replace("_", " ")), (name, sql)
        last = name.rsplit(".", 1)[-1].lstrip("@")
        assert last not in VARIABLES, (name, sql)  # a variable is never a column
        assert "rec" not in name.split("."), (name, sql)  # nor a record a table
    tables = {t for s in res.statements for t in s.target_tables}
    assert tables <= set(TABLES), (tables, sql)  # sequences, dual, setval(): never targets
