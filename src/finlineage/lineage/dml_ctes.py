"""Data-modifying CTEs (PostgreSQL `WITH moved AS (DELETE ... RETURNING ...) INSERT ...`).

A CTE whose body is an INSERT, UPDATE or DELETE with RETURNING is two things: a write of its own
table, and a relation of the rows it returns. The statement reading it gets, in its place, the
query those rows come from: a DELETE returns the deleted rows of its table (under its WHERE), an
UPDATE the updated rows (a SET column returned holds its new value), an INSERT the inserted rows
(named by its column list). The write itself is analysed as a statement of its own (with the CTEs
before it), so the statement writes both tables. A CTE whose rows cannot be told (an INSERT
without a column list into a table of unknown columns) is left as it is."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp

from finlineage.lineage.refs import output_name

__all__ = ["implicitly_recursive", "output_rows", "returning_ctes"]

_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
_OUTPUT_DIALECTS = frozenset({"tsql", "fabric"})
"""Dialects whose DML returns rows with OUTPUT over the `inserted` / `deleted` pseudo-tables."""


def _as_relation(node: exp.Expr) -> exp.Expr | None:
    """The relation a DELETE/UPDATE reads its rows from (its table, alias kept)."""
    return node.copy() if isinstance(node, exp.Table) else None


def _deleted(dml: exp.Delete, returning: list[exp.Expr]) -> exp.Select | None:
    table = _as_relation(dml.this)
    if table is None:
        return None
    sel = exp.select(*returning).from_(table)
    using = dml.args.get("using")
    for u in using if isinstance(using, list) else []:
        sel = sel.join(u.copy())
    where = dml.args.get("where")
    if isinstance(where, exp.Where):
        sel.set("where", where.copy())
    return sel


def _updated(dml: exp.Update, returning: list[exp.Expr]) -> exp.Select | None:
    table = _as_relation(dml.this)
    if table is None:
        return None
    names = {table.name, table.alias_or_name}
    new: dict[str, exp.Expr] = {}
    for eq in dml.expressions:
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column):
            new[eq.this.name] = eq.expression

    def set_value(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name in new and (not node.table or node.table in names):
            return exp.paren(new[node.name].copy(), copy=False)
        return node

    items: list[exp.Expr] = []
    for r in returning:
        if isinstance(r, exp.Column) and r.name in new:
            items.append(exp.alias_(r.transform(set_value), r.name))
        else:
            items.append(r.transform(set_value))
    sel = exp.select(*items).from_(table)
    source = dml.args.get("from_")
    if isinstance(source, exp.From):
        sel = sel.join(source.this.copy())
    for j in dml.args.get("joins") or []:
        sel = sel.join(j.copy())
    where = dml.args.get("where")
    if isinstance(where, exp.Where):
        sel.set("where", where.copy())
    return sel


def _inserted(
    dml: exp.Insert,
    returning: list[exp.Expr],
    name_of: Callable[[exp.Table], str],
    columns_of: Callable[[str], Sequence[str] | None],
) -> exp.Select | None:
    target = dml.this
    if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
        table, columns = target.this, [c.name for c in target.expressions]
    elif isinstance(target, exp.Table):
        table, columns = target, list(columns_of(name_of(target)) or [])
    else:
        return None
    rows = dml.expression
    if not columns or not isinstance(rows, (exp.Query, exp.Values)):
        return None
    inner = rows.unnest() if isinstance(rows, exp.Subquery) else rows
    derived = exp.Subquery(
        this=inner.copy(),
        alias=exp.TableAlias(
            this=exp.to_identifier(table.alias_or_name), columns=[exp.to_identifier(c) for c in columns]
        ),
    )
    return exp.select(*returning).from_(derived)


def output_rows(
    ret: exp.Returning, target: exp.Table, others: Sequence[exp.Expr], dialect: str
) -> exp.Select:
    """T-SQL `OUTPUT inserted.a, deleted.b, s.c, $action`: the rows a DML statement outputs, as a
    query over its target (as `inserted` and as `deleted`) and its other sources (MERGE USING,
    UPDATE FROM); `$action` has no column."""
    projections: list[exp.Expr] = []
    for e in ret.expressions:
        if isinstance(e, exp.Column) and e.name.startswith("$"):  # $action: no column
            projections.append(exp.alias_(exp.Null(), e.name.lstrip("$") or "action"))
            continue
        e = e.copy()
        for c in list(e.find_all(exp.Column)):
            if c.name.startswith("$"):
                c.replace(exp.Null())
        if not isinstance(e, exp.Alias) and not (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
            e = exp.alias_(e, output_name(e, dialect, len(projections)))
        projections.append(e)
    rows = []
    for _ in range(2):
        row = target.copy()
        row.set("alias", None)
        row.set("joins", None)
        rows.append(row)
    sel = exp.Select(expressions=projections).from_(exp.alias_(rows[0], "inserted", table=True))
    joins = [exp.Join(this=exp.alias_(rows[1], "deleted", table=True), kind="CROSS")]
    for o in others:
        other = o.copy()
        other.set("joins", None)  # each joined table is listed on its own
        joins.append(exp.Join(this=other, kind="CROSS"))
    sel.set("joins", joins)
    return sel


def _output_sources(dml: exp.Expr) -> list[exp.Expr]:
    """What a DML statement's OUTPUT may read besides its target: MERGE USING, UPDATE/DELETE FROM."""
    if isinstance(dml, exp.Merge):
        using = dml.args.get("using")
        return [using] if isinstance(using, exp.Expr) else []
    source = dml.args.get("from_") if isinstance(dml, exp.Update) else dml.args.get("using")
    out: list[exp.Expr] = []
    if isinstance(source, exp.From):
        out.append(source.this)
    elif isinstance(source, list):
        out.extend(x for x in source if isinstance(x, exp.Expr))
    out.extend(j.this for j in dml.args.get("joins") or [] if isinstance(j, exp.Join))
    return out


def _returned(
    dml: exp.Expr,
    name_of: Callable[[exp.Table], str],
    columns_of: Callable[[str], Sequence[str] | None],
    dialect: str,
) -> exp.Select | None:
    """The query of the rows a DML statement returns (RETURNING / OUTPUT), None when unknown."""
    ret = dml.args.get("returning")
    returning = [r.copy() for r in ret.expressions] if isinstance(ret, exp.Returning) else []
    if not returning or not isinstance(ret, exp.Returning):
        return None
    target = dml.this.this if isinstance(dml.this, exp.Schema) else dml.this
    if not isinstance(target, exp.Table):
        return None
    if dialect in _OUTPUT_DIALECTS:  # inserted.x / deleted.x
        return output_rows(ret, target, _output_sources(dml), dialect)
    if isinstance(dml, exp.Merge):  # PostgreSQL MERGE ... RETURNING t.x, s.y: the joined rows
        sel = exp.select(*returning).from_(target.copy())
        for other in _output_sources(dml):
            sel = sel.join(other.copy(), join_type="cross")
        return sel
    if isinstance(dml, exp.Delete):
        return _deleted(dml, returning)
    if isinstance(dml, exp.Update):
        return _updated(dml, returning)
    if isinstance(dml, exp.Insert):
        return _inserted(dml, returning, name_of, columns_of)
    return None


def returning_ctes(
    stmt: exp.Expr,
    name_of: Callable[[exp.Table], str],
    columns_of: Callable[[str], Sequence[str] | None],
    dialect: str = "",
) -> tuple[exp.Expr, list[exp.Expr]]:
    """`stmt` with each data-modifying CTE, and each DML statement read as a derived table (T-SQL
    `FROM (MERGE ... OUTPUT ...) AS x (cols)`), replaced by the query of the rows it returns (a
    copy; `stmt` itself is kept), and the writes they make, each a statement of its own."""
    with_ = stmt.args.get("with_")
    has_ctes = isinstance(with_, exp.With) and any(isinstance(c.this, _DML) for c in with_.expressions)
    nested = [s for s in stmt.find_all(exp.Subquery) if isinstance(s.this, _DML)]
    if not has_ctes and not nested:
        return stmt, []
    work = stmt.copy()
    writes: list[exp.Expr] = []
    w = work.args.get("with_")
    ctes = w.expressions if isinstance(w, exp.With) else []
    for pos, cte in enumerate(ctes):
        dml = cte.this
        if not isinstance(dml, _DML):
            continue
        write = dml.copy()
        write.set("returning", None)
        before = [c.copy() for c in ctes[:pos] if not isinstance(c.this, _DML)]
        if before and not write.args.get("with_"):
            write.set("with_", exp.With(expressions=before))
        writes.append(write)
        rows = _returned(dml, name_of, columns_of, dialect)
        if rows is not None:
            cte.set("this", rows)
    for sub in [s for s in work.find_all(exp.Subquery) if isinstance(s.this, _DML)]:
        dml = sub.this
        write = dml.copy()
        write.set("returning", None)
        writes.append(write)
        rows = _returned(dml, name_of, columns_of, dialect)
        if rows is not None:
            sub.set("this", rows)
    return work, writes


_OPTIONAL_RECURSIVE = frozenset({"tsql", "fabric", "oracle", "snowflake", "sqlite", "teradata", "db2"})
"""Dialects in which a CTE may read itself without the RECURSIVE keyword."""


def implicitly_recursive(stmt: exp.Expr, dialect: str) -> exp.Expr:
    """`WITH h AS (... UNION ALL ... FROM h ...)` where RECURSIVE is optional (T-SQL, Oracle,
    Snowflake, ...): the CTE reads itself, not a table named h. Returns a copy with such WITHs
    marked recursive (`stmt` itself is kept), or `stmt` when there are none."""
    if dialect not in _OPTIONAL_RECURSIVE or not any(_reads_itself(w) for w in stmt.find_all(exp.With)):
        return stmt
    work = stmt.copy()
    for with_ in work.find_all(exp.With):
        if _reads_itself(with_):
            with_.set("recursive", True)
    return work


def _reads_itself(with_: exp.With) -> bool:
    if with_.args.get("recursive"):
        return False
    return any(
        isinstance(cte.this, exp.SetOperation)
        and any(not t.db and t.name == cte.alias_or_name for t in cte.this.find_all(exp.Table))
        for cte in with_.expressions
    )
