"""Expression-level building blocks of column resolution: outputs, roles of column references
(direct, window specification, CASE/IF condition), struct field paths, direct subtypes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

Sources = frozenset[str]
_EMPTY: Sources = frozenset()

IDENTITY, TRANSFORMATION, AGGREGATION = "IDENTITY", "TRANSFORMATION", "AGGREGATION"
_RANK = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}


def stronger(a: str, b: str) -> str:
    """The stronger of two direct subtypes (AGGREGATION > TRANSFORMATION > IDENTITY)."""
    return a if _RANK.get(a, 1) >= _RANK.get(b, 1) else b


def direct_subtype(body: exp.Expr | None) -> str:
    """OpenLineage direct subtype of a projection body (alias removed): IDENTITY for a plain
    column (or struct field) reference, AGGREGATION when an aggregate function is involved
    (also in a scalar subquery it reads), TRANSFORMATION otherwise."""
    if body is None:
        return TRANSFORMATION
    if isinstance(body, exp.Alias):
        body = body.this
    if isinstance(body, exp.Column) and not isinstance(body.this, exp.Star):
        return IDENTITY
    if isinstance(body, exp.Dot) and dot_parts(body) is not None:
        return IDENTITY  # a struct field path; `schema.fn(x)` (a qualified call) is a Dot too
    return AGGREGATION if body.find(exp.AggFunc) is not None else TRANSFORMATION


@dataclass(frozen=True, slots=True)
class Output:
    """One output column of a scope."""

    name: str
    sources: Sources
    expression: exp.Expr | None = None
    star: bool = False
    """An unexpanded `*`: sources are `table.*` entries."""
    window: Sources = _EMPTY
    """Columns of the PARTITION BY / ORDER BY of window specifications in this output: indirect
    lineage (WINDOW), never direct."""
    conditional: Sources = _EMPTY
    """Columns of CASE WHEN / IF conditions in this output: indirect lineage (CONDITIONAL)."""
    subtype: str = IDENTITY
    """Direct subtype (IDENTITY/TRANSFORMATION/AGGREGATION), strongest along derived sources."""


_CAST_KEEPS_NAME = frozenset({"postgres", "redshift", "materialize", "risingwave", "duckdb"})


def output_name(projection: exp.Expr, dialect: str, position: int = 0) -> str:
    """The name a projection gets in its result set.

    An unaliased column keeps its name; a `col::type` cast (and, in PostgreSQL-like engines,
    any cast of a column) keeps the column's name. Any other unaliased expression gets the
    positional placeholder `_col_<position>` (0-based, as Trino/Athena name it): engines name
    such columns differently, and a column is never named after SQL text (its text stays the
    edge's expression)."""
    if isinstance(projection, exp.Alias):
        return projection.alias
    if isinstance(projection, exp.Column) or (
        isinstance(projection, exp.Dot) and dot_parts(projection) is not None
    ):
        return projection.name
    if isinstance(projection, exp.Cast) and isinstance(projection.this, exp.Column):
        shorthand = "format" not in projection.args  # parsed from `col::type`
        if shorthand or dialect in _CAST_KEEPS_NAME:
            return projection.this.name
    return f"_col_{position}"


PSEUDO_COLUMNS: dict[str, frozenset[str]] = {
    "oracle": frozenset({"rownum", "rowid", "level", "user", "uid", "sysdate", "systimestamp", "ora_rowscn"}),
    "bigquery": frozenset({"_table_suffix", "_partitiontime", "_partitiondate", "_file_name"}),
    "snowflake": frozenset({"metadata$action", "metadata$isupdate", "metadata$row_id", "metadata$filename"}),
    "tsql": frozenset({"$action", "$identity", "$rowguid"}),
}
"""Names a dialect gives values that are no table's column: when no source surely has such a
column (schema), a bare reference is the pseudo-column (no column source, no diagnostic)."""


DIRECT, WINDOW, CONDITIONAL = "", "WINDOW", "CONDITIONAL"


def _children(n: exp.Expr) -> Iterator[tuple[str, exp.Expr]]:
    for key, value in n.args.items():
        if isinstance(value, exp.Expr):
            yield key, value
        elif isinstance(value, list):
            for v in value:
                if isinstance(v, exp.Expr):
                    yield key, v


_LEAF_REFS = (exp.Placeholder,)
_SPECIAL = (exp.Window, exp.Case, exp.If)


def role_refs(node: exp.Expr) -> list[tuple[str, exp.Expr]]:
    """(role, ref) for the columns, stars, subqueries and placeholders an expression uses (not
    descending into subqueries). Role "" is a direct use; "WINDOW" a column of a window
    specification's PARTITION BY/ORDER BY; "CONDITIONAL" a column of a CASE WHEN / IF condition
    (or the operand of a simple CASE)."""
    out: list[tuple[str, exp.Expr]] = []
    stack: list[tuple[str, exp.Expr]] = [(DIRECT, node)]
    pop, push, emit = stack.pop, stack.append, out.append
    while stack:
        role, n = pop()
        if isinstance(n, exp.Column):
            if not _is_sequence_ref(n):
                emit((role, n))
        elif isinstance(n, exp.Dot) and dot_parts(n) is not None:
            emit((role, n))  # a struct field path over a column
        elif isinstance(n, exp.Subquery):
            emit((role, n.unnest()))
        elif n is not node and isinstance(n, (exp.Select, exp.SetOperation)):
            emit((role, n))
        elif isinstance(n, exp.Star):
            if not isinstance(n.parent, exp.Column):
                emit((role, n))
        elif isinstance(n, _LEAF_REFS):  # a bind variable, or Oracle's :NEW.col in triggers
            emit((role, n))
        elif isinstance(n, exp.NextValueFor):  # NEXT VALUE FOR seq: a sequence, not a column
            continue
        elif isinstance(n, exp.Anonymous) and n.name.upper() == "IDENTITY":
            continue  # T-SQL SELECT ... INTO: IDENTITY(type, seed, step) numbers rows
        elif isinstance(n, exp.Anonymous) and _is_dictionary_lookup(n):
            for c in n.expressions[1:]:  # the first argument names a dictionary, not a column
                push((role, c))
        elif isinstance(n, _SPECIAL):
            # window specification: WINDOW; CASE operand / WHEN and IF conditions: CONDITIONAL
            side = WINDOW if isinstance(n, exp.Window) else CONDITIONAL
            for key, child in _children(n):
                if isinstance(n, exp.Window):
                    push((role if key == "this" else (role or side), child))
                else:
                    push(((role or side) if key == "this" else role, child))
        else:
            for c in n.iter_expressions():
                push((role, c))
    return out


def dot_parts(node: exp.Expr) -> list[str] | None:
    """The name parts of a column reference with a struct field path (`t.col.field.sub`, parsed
    as a Column with up to four parts, deeper paths as Dot chains over it); None otherwise."""
    if isinstance(node, exp.Column):
        if isinstance(node.this, exp.Star):
            return None
        return [p.name for p in node.parts]
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        head = dot_parts(node.this)
        return None if head is None else [*head, node.expression.name]
    return None


_SEQUENCE_PSEUDO_COLUMNS = frozenset({"nextval", "currval"})

_DICTIONARY_FUNCTIONS = frozenset(
    {"dicthas", "dictisin", "dictgethierarchy", "dictgetchildren", "dictgetdescendants"}
)


def _is_dictionary_lookup(fn: exp.Anonymous) -> bool:
    """ClickHouse dictionary functions (`dictGet[OrDefault|OrNull|String|UInt64|...]`,
    `dictHas`, ...): their first argument is a dictionary's name, not a column."""
    name = fn.name.lower()
    return name.startswith("dictget") or name in _DICTIONARY_FUNCTIONS


def _is_sequence_ref(col: exp.Column) -> bool:
    """Oracle/Snowflake `seq.NEXTVAL` / `seq.CURRVAL`: a sequence's next/current value."""
    return bool(col.table) and col.name.lower() in _SEQUENCE_PSEUDO_COLUMNS


def column_refs(node: exp.Expr) -> Iterator[exp.Expr]:
    """Columns, stars, subqueries and placeholders used by an expression, in any role (not
    descending into subqueries)."""
    for _, ref in role_refs(node):
        yield ref


@dataclass(frozen=True, slots=True)
class ExprSources:
    direct: Sources
    window: Sources = _EMPTY
    conditional: Sources = _EMPTY
    subtype: str = IDENTITY

    def all(self) -> Sources:
        return self.direct | self.window | self.conditional


_INDIRECT_ARGS = (
    ("where", "FILTER"),
    ("having", "FILTER"),
    ("qualify", "FILTER"),
    ("connect", "FILTER"),
    ("prewhere", "FILTER"),
    ("group", "GROUP_BY"),
    ("order", "SORT"),
)
Indirect = dict[str, Sources]
"""Indirect lineage of a scope: subtype (JOIN/FILTER/GROUP_BY/SORT/WINDOW/CONDITIONAL) -> columns."""


def renamed_by_alias(scope: Scope, outs: list[Output]) -> list[Output]:
    """`WITH c (a, b) AS (...)` / `(SELECT ...) AS d (a, b)`: the column list of a CTE's or derived
    table's alias names its outputs by position (an unexpanded `*` keeps the rest unnamed)."""
    holder = scope.expression.parent
    if isinstance(holder, exp.Subquery) and isinstance(holder.parent, exp.Lateral) and not holder.alias:
        holder = holder.parent  # `LATERAL (SELECT ...) AS x (a, b)`: the alias is the LATERAL's
    if not isinstance(holder, (exp.CTE, exp.Subquery, exp.Lateral)):
        return outs
    alias = holder.args.get("alias")
    names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    if not names or any(o.star for o in outs[: len(names)]):
        return outs
    return [
        Output(names[i], o.sources, o.expression, o.star, o.window, o.conditional, o.subtype)
        if i < len(names)
        else o
        for i, o in enumerate(outs)
    ]


def function_tables(fn: exp.Expr) -> list[exp.Table]:
    """Tables named as arguments of a table function (BigQuery `ML.PREDICT(MODEL m, TABLE t)`,
    `VECTOR_SEARCH(TABLE t, ...)`): read by it. Queries among the arguments have their own
    scopes (their tables are found there)."""
    out: list[exp.Table] = []
    stack: list[exp.Expr] = list(fn.iter_expressions())
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Table) and node.name and not is_table_function(node):
            out.append(node)
        elif not isinstance(node, (exp.Query, exp.Subquery)):
            stack.extend(node.iter_expressions())
    return out[::-1]


def is_table_function(table: exp.Table) -> bool:
    """A table reference that is a function call (`ML.PREDICT(...)`, `SEMANTIC_VIEW(...)`)."""
    return isinstance(table.this, (exp.Func, exp.SemanticView))


def _named(outs: list[Output], name: str) -> Sources:
    """The sources of column `name` among `outs` (an unexpanded `t.*` gives `t.name`)."""
    for o in outs:
        if o.name == name and not o.star:
            return o.sources
    return frozenset(s[:-1] + name for o in outs if o.star for s in o.sources if s.endswith(".*"))


def pivoted(outs: list[Output], pivots: list[exp.Expr]) -> list[Output]:
    """The columns of a relation after its PIVOT / UNPIVOT clauses.

    PIVOT (agg(x) FOR k IN (v1, v2)): the columns used by neither the aggregations nor the FOR
    list pass through; each new column (one per value and aggregation, named as sqlglot names
    it) is its aggregation's columns (AGGREGATION), picked by the FOR column (direct and
    CONDITIONAL, as a CASE condition). UNPIVOT (val FOR name IN (c1, c2)): the listed columns are
    replaced by `val` (from all of them) and `name` (their names: no column source)."""
    for pv in pivots:
        if not isinstance(pv, exp.Pivot):
            continue
        fields = [f for f in pv.args.get("fields") or [] if isinstance(f, exp.In)]
        if pv.args.get("unpivot"):
            listed = [c.name for f in fields for c in f.find_all(exp.Column)]
            taken: set[str] = set()
            for c in listed:
                taken |= _named(outs, c)
            kept = [o for o in outs if o.star or o.name not in set(listed)]
            values = [Output(e.name, frozenset(taken), pv, subtype=TRANSFORMATION) for e in pv.expressions]
            labels = [Output(f.this.name, _EMPTY, pv, subtype=TRANSFORMATION) for f in fields]
            outs = kept + values + labels
            continue
        aggs = [e.this if isinstance(e, exp.Alias) else e for e in pv.expressions]
        agg_cols = [[c.name for c in a.find_all(exp.Column)] for a in aggs]
        for_cols = [f.this.name for f in fields if isinstance(f.this, exp.Column)]
        used = {c for cs in agg_cols for c in cs} | set(for_cols)
        picked: set[str] = set()
        for c in for_cols:
            picked |= _named(outs, c)
        cond = frozenset(picked)
        names = [c.name for c in pv.args.get("columns") or []]
        if not names:
            names = [v.alias_or_name for f in fields for v in f.expressions]
        new: list[Output] = []
        for k, name in enumerate(names):
            cols = agg_cols[k % len(aggs)] if aggs else []
            direct: set[str] = set()
            for c in cols:
                direct |= _named(outs, c)
            new.append(Output(name, frozenset(direct) | cond, pv, False, _EMPTY, cond, AGGREGATION))
        outs = [o for o in outs if o.star or o.name not in used] + new
    return outs


def subquery_role(sub: Scope) -> str:
    """The indirect role of a subquery's outputs: the clause it sits in (a scalar subquery in
    a projection is a direct source already)."""
    node: exp.Expr | None = sub.expression
    while node is not None:
        parent = node.parent
        if parent is None:
            return "FILTER"
        key = node.arg_key
        if isinstance(parent, exp.Select):
            if key in ("where", "having", "qualify"):
                return "FILTER"
            if key == "group":
                return "GROUP_BY"
            if key == "order":
                return "SORT"
            if key == "expressions":
                return ""
            return "FILTER"
        if isinstance(parent, exp.Join):
            return "JOIN"
        node = parent
    return "FILTER"


def values_outputs(
    sources_of: Callable[[exp.Expr], ExprSources], values: exp.Values, alias: object
) -> list[Output]:
    """`CROSS APPLY (VALUES (a, b), (c, d)) AS x (p, q)` / `LATERAL (VALUES ...)`: one row per
    row constructor, so each column comes from the expressions at its position in every row
    (read from the rows before it: `('USD', t.usd_amt), ('EUR', t.eur_amt)` unpivots)."""
    rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in values.expressions]
    names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    outs: list[Output] = []
    for i in range(max((len(r) for r in rows), default=0)):
        direct: set[str] = set()
        window: set[str] = set()
        conditional: set[str] = set()
        subtype = IDENTITY
        for row in rows:
            if i >= len(row):
                continue
            got = sources_of(row[i])
            direct |= got.direct
            window |= got.window
            conditional |= got.conditional
            sub = stronger(direct_subtype(row[i]), got.subtype)
            subtype = stronger(subtype, TRANSFORMATION if sub == IDENTITY and not got.direct else sub)
        name = names[i] if i < len(names) else f"column{i + 1}"
        outs.append(
            Output(name, frozenset(direct), values, False, frozenset(window), frozenset(conditional), subtype)
        )
    return outs


def argument_outputs(
    table: exp.Table, scopes: list[Scope], sources_in: Callable[[Scope], Sources]
) -> list[Output]:
    """The columns a function read as a table declares in its alias (`jsonb_to_recordset(p.body)
    AS r (a int, b text)`, `fn(t.x) AS f (a, b)`) or in its COLUMNS clause (`JSON_TABLE(t.doc,
    '$[*]' COLUMNS (a INT PATH '$.a'))`), each computed from the columns its arguments
    read (`sources_in` the scope reading it: the rows before it, laterally); [] when it declares
    none or reads no column."""
    alias = table.args.get("alias")
    names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    declared = table.this.args.get("schema") if isinstance(table.this, exp.JSONTable) else None
    if not names and isinstance(declared, exp.JSONSchema):  # JSON_TABLE(doc, path COLUMNS (a ...))
        names = [c.name for c in declared.expressions if isinstance(c, exp.JSONColumnDef) and c.name]
    scope = next((s for s in scopes if any(v is table for v in s.sources.values())), None) if names else None
    sources = sources_in(scope) if scope is not None else _EMPTY
    if not sources:
        return []
    return [Output(n, sources, table, subtype=TRANSFORMATION) for n in names]


def like_match(name: str, pattern: str) -> bool:
    """Whether `name` matches a SQL ILIKE pattern (`%` any run, `_` one character, any case)."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


def transform_outputs(
    proj: exp.QueryTransform, sources_of: Callable[[exp.Expr], ExprSources]
) -> list[Output]:
    """Hive/Spark `TRANSFORM (a, b) USING 'script' AS (x, y)`: each named output (Hive's `key`
    and `value` when none are named) is what the script makes of every input."""
    schema = proj.args.get("schema")
    names = [c.name for c in schema.expressions] if isinstance(schema, exp.Schema) else ["key", "value"]
    got = sources_of(exp.Tuple(expressions=proj.expressions))
    return [Output(n, got.direct, proj, False, got.window, got.conditional, TRANSFORMATION) for n in names]


def star_modifiers(
    star: exp.Star, outs: list[Output], sources_of: Callable[[exp.Expr], ExprSources]
) -> list[Output]:
    """`* REPLACE (expr AS col)` (BigQuery, Snowflake, DuckDB): the column keeps its place and
    takes the expression's lineage (`sources_of` resolves it); `* RENAME (col AS new)`
    (Snowflake): a new name; `* ILIKE 'pattern'` (Snowflake): only the columns whose names match."""
    if isinstance(pattern := star.args.get("ilike"), exp.Literal) and pattern.is_string:
        outs = [o for o in outs if o.star or like_match(o.name, pattern.this)]
    replace = {a.alias: a for a in star.args.get("replace") or [] if isinstance(a, exp.Alias) and a.alias}
    rename = {
        a.this.name: a.alias
        for a in star.args.get("rename") or []
        if isinstance(a, exp.Alias) and isinstance(a.this, exp.Column)
    }
    if not replace and not rename:
        return outs
    result: list[Output] = []
    for o in outs:
        if o.name in replace:
            alias = replace[o.name]
            got = sources_of(alias.this)
            subtype = stronger(direct_subtype(alias.this), got.subtype)
            o = Output(o.name, got.direct, alias, False, got.window, got.conditional, subtype)
        elif o.name in rename:
            o = Output(rename[o.name], o.sources, o.expression, o.star, o.window, o.conditional, o.subtype)
        result.append(o)
    return result
