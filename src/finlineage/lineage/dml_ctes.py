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

__all__ = ["returning_ctes"]

_DML = (exp.Insert, exp.Update, exp.Delete)


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


def returning_ctes(
    stmt: exp.Expr,
    name_of: Callable[[exp.Table], str],
    columns_of: Callable[[str], Sequence[str] | None],
) -> tuple[exp.Expr, list[exp.Expr]]:
    """`stmt` with each data-modifying CTE replaced by the query of the rows it returns (a copy;
    `stmt` itself is kept), and the writes those CTEs make, each a statement of its own."""
    with_ = stmt.args.get("with_")
    if not isinstance(with_, exp.With) or not any(isinstance(c.this, _DML) for c in with_.expressions):
        return stmt, []
    work = stmt.copy()
    ctes = work.args["with_"].expressions
    writes: list[exp.Expr] = []
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
        ret = dml.args.get("returning")
        returning = [r.copy() for r in ret.expressions] if isinstance(ret, exp.Returning) else []
        if not returning:
            continue
        if isinstance(dml, exp.Delete):
            rows = _deleted(dml, returning)
        elif isinstance(dml, exp.Update):
            rows = _updated(dml, returning)
        else:
            rows = _inserted(dml, returning, name_of, columns_of)
        if rows is not None:
            cte.set("this", rows)
    return work, writes
