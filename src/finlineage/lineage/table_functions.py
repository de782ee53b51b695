"""Table-valued functions read like tables (`FROM schema.fn(args) AS f`, T-SQL `CROSS APPLY` /
`OUTER APPLY fn(args)`).

A function whose result is one query (T-SQL inline `RETURNS TABLE AS RETURN (SELECT ...)`,
PostgreSQL `RETURN QUERY`) defined earlier in the same script is a parameterised view: a reader
gets its rows through that query, inlined as a derived table (named by the declared result
columns when there are any), so column lineage reaches the tables the function reads, and the
function is among the tables the statement reads (the store links it to the routine). A function
defined elsewhere whose result columns the schema knows (a project's other file declared them)
reads like a view of those columns: its name is the relation, so lineage reaches its columns and,
through them, what its own file says they come from. One whose columns nothing knows is left as it
is (no phantom objects), and named so the reader can say why its columns have no lineage."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError

from finlineage.lineage.names import canonicalize, normalize_name

__all__ = ["FunctionReads", "TableFunction", "inline_table_functions", "with_body"]

_APPLY_DIALECTS = frozenset({"tsql", "fabric"})
_SYSTEM_SCHEMAS = frozenset({"sys", "information_schema", "pg_catalog"})
"""Schemas of the engine's own rowset functions: not the user's, nothing to say about them."""


_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create)


@dataclass(frozen=True, slots=True)
class TableFunction:
    """The rows of a table-valued function: its query (several RETURN QUERY: their UNION ALL)
    and its declared result columns (() when they are the query's outputs)."""

    query: exp.Query
    columns: tuple[str, ...] = ()


def with_body(known: TableFunction | None, query: exp.Expr, columns: tuple[str, ...]) -> TableFunction | None:
    """`known` with one more query returning its rows (None when `query` is no query)."""
    body = query.unnest() if isinstance(query, exp.Subquery) else query
    if not isinstance(body, exp.Query):
        return known
    body = body.copy()
    if known is None:
        return TableFunction(body, columns)
    return TableFunction(exp.union(known.query.copy(), body, distinct=False), known.columns)


def _dotted(node: exp.Expr) -> list[str] | None:
    """The name parts of the qualifier of a dotted call (`db.schema` of `db.schema.fn()`)."""
    if isinstance(node, exp.Identifier):
        return [node.name]
    if isinstance(node, exp.Column):
        return [p.name for p in node.parts]
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        head = _dotted(node.this)
        return None if head is None else [*head, node.expression.name]
    return None


def _call(node: exp.Expr, dialect: str) -> tuple[exp.Table, exp.TableAlias | None] | None:
    """(a table node naming the user function, the reader's alias) when `node` reads a user
    table-valued function; None otherwise (built-in table functions are parsed as their own
    expressions, not as anonymous calls)."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
        fn = node.this
        parts = [node.catalog, node.db] if node.catalog else [node.db] if node.db else []
    elif (
        isinstance(node, exp.Lateral)
        and node.args.get("cross_apply") is not None
        and dialect in _APPLY_DIALECTS
    ):
        inner = node.this
        if isinstance(inner, exp.Anonymous):
            fn, parts = inner, []
        elif isinstance(inner, exp.Dot) and isinstance(inner.expression, exp.Anonymous):
            found = _dotted(inner.this)
            if found is None:
                return None
            fn, parts = inner.expression, found
        else:
            return None
    else:
        return None
    if not fn.name or len(parts) > 2:
        return None
    names = [normalize_name(p, dialect) for p in parts]
    table = exp.Table(this=exp.to_identifier(normalize_name(fn.name, dialect)))
    if names:
        table.set("db", exp.to_identifier(names[-1]))
    if len(names) == 2:
        table.set("catalog", exp.to_identifier(names[0]))
    alias = node.args.get("alias")
    return table, alias if isinstance(alias, exp.TableAlias) else None


def _renamed(table: exp.Table, alias: str, columns: Sequence[str], renamed: Sequence[str]) -> exp.Subquery:
    """`(SELECT columns FROM table) AS alias (renamed..., the rest by their names)`: a column alias
    list renames a relation's columns by position; columns past its end keep their names."""
    names = [*renamed[: len(columns)], *columns[len(renamed) :]]
    return exp.Subquery(
        this=exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(table),
        alias=exp.TableAlias(this=exp.to_identifier(alias), columns=[exp.to_identifier(c) for c in names]),
    )


def _column_aliased(node: exp.Expr) -> bool:
    """A plain table read under an alias with a column list (`FROM t AS a (x, y)`)."""
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
        return False
    alias = node.args.get("alias")
    if not isinstance(alias, exp.TableAlias) or not alias.columns or node.args.get("pivots"):
        return False
    return not (isinstance(node.parent, _WRITES) and node.arg_key == "this")  # a target is no read


def _rename_table_columns(
    node: exp.Table,
    name_of: Callable[[exp.Table], str],
    columns_of: Callable[[str], Sequence[str] | None],
    ctes: frozenset[str],
) -> bool:
    """`FROM t AS a (x, y)`: a's columns are t's renamed by position, when t's columns are known
    (schema, an earlier CREATE; a CTE's are its outputs): `a.y` is t's second column, not a
    phantom `t.y`. Unknown columns leave the read as it is (False: the caller says so)."""
    alias = node.args["alias"]
    renamed = [c.name for c in alias.columns]
    table = node.copy()
    table.set("alias", None)
    if not node.db and node.name in ctes:  # a CTE: its outputs, renamed by the derived alias
        node.replace(
            exp.Subquery(
                this=exp.select("*").from_(table),
                alias=exp.TableAlias(
                    this=exp.to_identifier(alias.name or node.name),
                    columns=[exp.to_identifier(c) for c in renamed],
                ),
            )
        )
        return True
    columns = columns_of(name_of(node))
    if columns:
        node.replace(_renamed(table, alias.name or node.name, columns, renamed))
        return True
    return False


@dataclass(slots=True)
class FunctionReads:
    """What `inline_table_functions` found: the functions inlined from this script (`read`) and
    those whose columns nothing knows (`unknown`). Functions read through their known columns are
    plain relations of the statement from then on."""

    read: list[str]
    unknown: list[str]
    unrenamed: list[str] = field(default_factory=list)
    """Tables read under a column alias list whose own columns nothing knows (`FROM t AS a (x,
    y)`): `a.x` cannot be mapped to t's column by position and is read as `t.x`."""


def inline_table_functions(
    stmt: exp.Expr,
    known: Mapping[str, TableFunction],
    name_of: Callable[[exp.Table], str],
    dialect: str,
    columns_of: Callable[[str], Sequence[str] | None] | None = None,
) -> tuple[exp.Expr, FunctionReads]:
    """`stmt` with its reads of user table-valued functions replaced by what they return (a
    copy; `stmt` itself is kept for its text): the query of one this script defined, or the
    function's name as a relation when `columns_of` knows its result columns."""
    found_any = any(
        _call(n, dialect) is not None
        or _column_aliased(n)
        or isinstance(n, (exp.Stream, exp.DynamicIdentifier))
        for n in stmt.find_all(exp.Table, exp.Lateral, exp.Stream, exp.DynamicIdentifier)
    )
    reads = FunctionReads([], [])
    if not found_any:
        return stmt, reads
    work = stmt.copy()
    for named in list(work.find_all(exp.DynamicIdentifier)):  # Snowflake `IDENTIFIER('db.t')`
        table = named.parent
        if isinstance(table, exp.Table) and table.this is named and isinstance(named.this, exp.Literal):
            try:
                real = canonicalize(exp.to_table(named.this.name, dialect=dialect or None), dialect)
            except (SqlglotError, ValueError):
                continue
            for key in ("this", "db", "catalog"):
                table.set(key, real.args.get(key))
    for stream in list(work.find_all(exp.Stream)):  # Databricks `FROM STREAM(t)` reads t
        inner = stream.this.this if isinstance(stream.this, exp.Subquery) else stream.this
        if isinstance(inner, exp.Table):
            stream.replace(inner.copy())
    ctes = frozenset(c.alias_or_name for c in work.find_all(exp.CTE))
    for node in list(work.find_all(exp.Table, exp.Lateral)):
        found = _call(node, dialect)
        if found is None:
            if (
                columns_of is not None
                and isinstance(node, exp.Table)
                and _column_aliased(node)
                and not _rename_table_columns(node, name_of, columns_of, ctes)
            ):
                reads.unrenamed.append(name_of(node))
            continue
        table, alias = found
        name = name_of(table)
        alias_name = alias.name if alias is not None and alias.name else table.name
        body = known.get(name)
        if body is None:
            result = columns_of(name) if columns_of is not None else None
            if result:
                # declared elsewhere with its result columns: a parameterised view of them
                renamed = [c.name for c in alias.columns] if alias is not None else []
                if renamed:  # `AS f (a, b)` renames the result columns by position
                    node.replace(_renamed(table, alias_name, result, renamed))
                else:
                    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias_name)))
                    node.replace(table)
            elif (
                name not in reads.unknown
                and (table.db or "").lower() not in _SYSTEM_SCHEMAS
                and not (node.find(exp.Column) and (not table.db or (alias is not None and alias.columns)))
            ):  # (a built-in of columns, or declared columns of one: computed from its arguments)
                reads.unknown.append(name)
            continue
        # the reader's own column list renames the result; else the declared result columns
        renamed = [c.name for c in alias.columns] if alias is not None else []
        declared = renamed or list(body.columns)
        node.replace(
            exp.Subquery(
                this=body.query.copy(),
                alias=exp.TableAlias(
                    this=exp.to_identifier(alias_name), columns=[exp.to_identifier(c) for c in declared]
                ),
            )
        )
        if name not in reads.read:
            reads.read.append(name)
    return work, reads
