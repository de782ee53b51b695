"""Shared machinery of the statement extractors: the script context, the per-statement result,
query resolution and the emission of column edges with their OpenLineage subtypes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, build_scope

from finlineage.lineage.dml_ctes import output_rows
from finlineage.lineage.model import (
    ColumnEdge,
    Diagnostic,
    ObjectDefinition,
    Severity,
)
from finlineage.lineage.names import (
    SchemaIndex,
    bigquery_table_family,
    canonicalize,
    dialect_of,
    sql_text,
    table_name,
)
from finlineage.lineage.resolver import Indirect, Output, QueryResolver, output_name
from finlineage.lineage.table_functions import TableFunction
from finlineage.lineage.tsql_output import read_output_target

_MAX_EXPR_TEXT = 2000
_FILE_QUERY_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})
_FILE_FORMATS = frozenset(
    {"parquet", "json", "csv", "orc", "avro", "delta", "text", "binaryfile", "iceberg", "hudi"}
)


_PARTITION_MOVERS = frozenset(
    {"swap_partitions_between_tables", "move_partitions_to_table", "copy_partitions_to_table"}
)


def _dedupe_aliases(query: exp.Expr) -> bool:
    """Give unaliased derived tables and clashing table names distinct aliases.

    sqlglot's scopes need one name per source; SQL allows an unaliased subquery in some
    engines and the same bare name for a CTE and a qualified table. Returns True on change."""
    changed = False
    n = 0
    for sel in list(query.find_all(exp.Select)):
        seen: set[str] = set()
        from_ = sel.args.get("from_")
        nodes = [from_.this] if isinstance(from_, exp.From) else []
        nodes += [j.this for j in sel.args.get("joins") or []]
        for node in nodes:
            if not isinstance(node, (exp.Table, exp.Subquery)):
                continue
            key = node.alias_or_name
            if not key or key in seen:
                n += 1
                new = f"{key or '_subquery'}_{n}"
                node.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
                key = new
                changed = True
            seen.add(key)
    return changed


@dataclass(slots=True)
class Context:
    """State shared by the statements of one script."""

    dialect: str
    schema: SchemaIndex
    default_db: str | None = None
    default_schema: str | None = None
    lateral_alias: bool = False
    temp_tables: set[str] = field(default_factory=set)
    variables: frozenset[str] = frozenset()
    """Parameters and declared variables of the routine the current statement runs in."""
    row_tables: dict[str, str] = field(default_factory=dict)
    """In a trigger: its row records (new, old) -> the table it fires on."""
    pseudo_tables: dict[str, str] = field(default_factory=dict)
    """In a T-SQL trigger: its pseudo-tables (inserted, deleted) -> the table it fires on."""
    table_functions: dict[str, TableFunction] = field(default_factory=dict)
    """Table-valued functions the script defined so far whose rows one query returns -> it."""
    result: tuple[str, tuple[str, ...]] | None = None
    """For a query whose rows a function returns (`RETURN QUERY`): the function and the columns
    of its `RETURNS TABLE (...)`, which the query's outputs fill by position."""
    in_expression: bool = False
    """The current query is a sub-query of a routine's expression (an IF/WHILE condition, a
    scalar value nobody keeps): it reads its tables, its rows are no result set (no outputs)."""
    synonyms: dict[str, str] = field(default_factory=dict)
    """Synonyms the script created so far -> the objects they name (`CREATE SYNONYM s FOR t`)."""

    def name_of(self, table: exp.Table) -> str:
        name = self.own_name(table)
        return self.synonyms.get(name, name) if self.synonyms else name

    def own_name(self, table: exp.Table) -> str:
        """The canonical name of a table node as written (a synonym's own name, not its target)."""
        if self.pseudo_tables and not table.args.get("db") and not table.args.get("catalog"):
            row_table = self.pseudo_tables.get(table.name.lower())
            if row_table is not None:  # a trigger's `inserted`/`deleted` rows are its table's
                return row_table
        name = table_name(table, default_db=self.default_db, default_schema=self.default_schema)
        if self.dialect == "bigquery" and name and not name.startswith(("#", "@")):
            head, _, last = name.rpartition(".")
            family = bigquery_table_family(last)
            if family != last:
                name = f"{head}.{family}" if head else family
        if name != name.lower():  # a quoted mixed-case name the schema spells otherwise
            key = self.schema.resolve(name)
            if key is not None and key != name and key.lower() == name.lower():
                name = key
        return name


@dataclass(slots=True)
class StatementResult:
    type: str
    source_tables: list[str] = field(default_factory=list)
    target_tables: list[str] = field(default_factory=list)
    column_edges: list[ColumnEdge] = field(default_factory=list)
    source_paths: list[str] = field(default_factory=list)
    target_paths: list[str] = field(default_factory=list)
    temporary_tables: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    objects: list[ObjectDefinition] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)
    unknown_functions: list[str] = field(default_factory=list)
    proposed_reads: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Edge position -> the target's columns of the INSERT's proposed row it reads (ON CONFLICT
    `EXCLUDED.x`, MySQL `VALUES(x)`)."""
    scopes: dict[int, tuple[exp.Expr, Scope]] = field(default_factory=dict)
    """Scope trees built by the analysis, by id of their query (kept with it): the formulas of
    the same statement reuse them instead of building them again."""


def _add(lst: list[str], *names: str) -> None:
    for n in names:
        if n and n not in lst:
            lst.append(n)


_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")


@lru_cache(maxsize=64)
def _reserved(dialect: str) -> frozenset[str]:
    words = getattr(dialect_of(dialect).generator_class, "RESERVED_KEYWORDS", ())
    return frozenset(w.lower() for w in words)


def _plain(node: object, reserved: frozenset[str]) -> str | None:
    """An identifier the generator would print as is (unquoted, plain, not reserved)."""
    if isinstance(node, exp.Identifier) and not node.args.get("quoted") and not node.comments:
        name = node.this
        if isinstance(name, str) and _PLAIN_NAME.match(name) and name not in reserved:
            return name
    return None


def _plain_column_text(node: exp.Expr, dialect: str) -> str | None:
    """`col`, `t.col` or `t.col AS a` without the generator (and its deep copy); None when the
    projection is anything else."""
    reserved = _reserved(dialect)
    alias = None
    if isinstance(node, exp.Alias):
        if node.comments:
            return None
        alias = _plain(node.args.get("alias"), reserved)
        if alias is None:
            return None
        node = node.this
    if not isinstance(node, exp.Column) or node.comments:
        return None
    parts: list[str] = []
    for part in node.parts:
        name = _plain(part, reserved)
        if name is None:
            return None
        parts.append(name)
    text = ".".join(parts)
    return f"{text} AS {alias}" if alias is not None else text


def _expr_text(node: exp.Expr | None, dialect: str) -> str:
    if node is None:
        return ""
    text = _plain_column_text(node, dialect) if isinstance(node, (exp.Column, exp.Alias)) else None
    if text is None:
        text = sql_text(node, dialect)
    return text if len(text) <= _MAX_EXPR_TEXT else text[:_MAX_EXPR_TEXT] + "..."


def _is_temp_create(create: exp.Create) -> bool:
    props = create.args.get("properties")
    if isinstance(props, exp.Properties):
        for p in props.expressions:
            if isinstance(p, (exp.TemporaryProperty, exp.VolatileProperty)):
                return True
    return False


_INDIRECT_ORDER = ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL")


class Extractor:
    """Base of the per-statement-kind extractors: resolution of queries into column edges."""

    def __init__(self, ctx: Context, index: int) -> None:
        self.ctx = ctx
        self.index = index
        self.dialect = ctx.dialect

    def diag(self, res: StatementResult, code: str, message: str, severity: Severity = "warning") -> None:
        res.diagnostics.append(Diagnostic(code, message, severity, None, self.index))

    def name(self, table: exp.Table) -> str:
        return self.ctx.name_of(table)

    def query(
        self, query: exp.Expr, res: StatementResult
    ) -> tuple[QueryResolver, Scope, list[Output]] | None:
        while isinstance(query, exp.Subquery) and isinstance(query.this, exp.Query):
            query = query.this
        got = None
        for attempt in range(2):
            try:
                got = self._resolve(query, res)
                break
            except OptimizeError as e:
                if attempt == 0 and _dedupe_aliases(query):
                    continue
                self.diag(res, "unsupported_statement", f"cannot build query scopes: {e}")
        if got is None:
            for t in query.find_all(exp.Table):
                self._add_source(res, t)
        return got

    def _resolve(
        self, query: exp.Expr, res: StatementResult
    ) -> tuple[QueryResolver, Scope, list[Output]] | None:
        root = build_scope(query)
        if root is None:
            return None
        resolver = QueryResolver(
            root,
            dialect=self.dialect,
            schema=self.ctx.schema,
            name_of=self.ctx.name_of,
            lateral_alias=self.ctx.lateral_alias,
            statement_index=self.index,
            variables=self.ctx.variables,
            row_tables=self.ctx.row_tables,
        )
        res.scopes[id(query)] = (query, root)
        outs = resolver.outputs(root)
        for t in resolver.base_tables():
            self._add_source(res, t)
        res.diagnostics.extend(resolver.diagnostics)
        return resolver, root, outs

    def _add_source(self, res: StatementResult, t: exp.Table) -> None:
        """A read table, or a file read directly (Spark `parquet.`path``)."""
        db = t.args.get("db")
        if (
            self.dialect in _FILE_QUERY_DIALECTS
            and isinstance(db, exp.Identifier)
            and db.name.lower() in _FILE_FORMATS
            and not t.args.get("catalog")
            and ("/" in t.name or ":" in t.name or "." in t.name)
        ):
            _add(res.source_paths, t.name)
            return
        _add(res.source_tables, self.name(t))

    def edges_into(
        self,
        res: StatementResult,
        target: str,
        columns: list[str] | None,
        resolver: QueryResolver,
        root: Scope,
        outs: list[Output],
    ) -> list[str]:
        """Column edges from `outs` into `target` (by position into `columns` when given).

        Returns the target column names written."""
        indirect = resolver.indirect(root)
        written: list[str] = []
        has_star = any(o.star for o in outs)
        if columns is not None and not has_star:
            pairs = list(zip(columns, outs, strict=False))
            if len(columns) != len(outs):
                self.diag(
                    res,
                    "column_count_mismatch",
                    f"{len(columns)} target columns but the query yields {len(outs)}",
                )
        else:
            pairs = [(o.name, o) for o in outs]
        for col, o in pairs:
            tgt = f"{target}.{col}" if target else col
            conf = 1.0 if len(self.ctx.schema) else 0.9
            if o.star:
                conf = 0.5
            self.emit(res, tgt, o, indirect, _expr_text(o.expression, self.dialect), conf)
            written.append(col)
        return written

    @staticmethod
    def emit(
        res: StatementResult,
        tgt: str,
        o: Output,
        indirect: Indirect,
        expression: str,
        conf: float = 1.0,
    ) -> None:
        """The edges of one output written into `tgt`: one direct edge with its subtype, one
        indirect edge per indirect subtype (statement-wide JOIN/FILTER/... plus the output's own
        WINDOW/CONDITIONAL columns)."""
        res.column_edges.append(
            ColumnEdge(tgt, tuple(sorted(o.sources)), "direct", expression, conf, o.subtype)
        )
        for sub in _INDIRECT_ORDER:
            cols = indirect.get(sub)  # (the resolver drops whole-row `t.*` entries)
            own = o.window if sub == "WINDOW" else o.conditional if sub == "CONDITIONAL" else None
            if own:
                cols = (cols or frozenset()) | {c for c in own if not c.endswith(".*")}
            if cols:
                res.column_edges.append(ColumnEdge(tgt, tuple(sorted(cols)), "indirect", "", conf, sub))

    def other(self, stmt: exp.Expr) -> StatementResult:
        kind = type(stmt).__name__.lower()
        res = StatementResult(kind)
        self.diag(res, "unsupported_statement", f"no lineage rule for a {kind} statement", "info")
        return res

    def output_into(
        self, stmt: exp.Expr, res: StatementResult, target: exp.Expr | None, others: Sequence[exp.Expr] = ()
    ) -> None:
        """T-SQL `OUTPUT inserted.*/deleted.*/... INTO t [(cols)]` of a DML statement: a write of
        `t` whose columns come from the rows the statement wrote (`inserted`) or removed
        (`deleted`) in its target table, or from its other sources (`others`, e.g. MERGE USING)."""
        ret = stmt.args.get("returning")
        into = ret.args.get("into") if isinstance(ret, exp.Returning) else None
        got = read_output_target(into, self.dialect) if into is not None else None
        if got is None or not isinstance(ret, exp.Returning):
            return
        out_table, cols = got
        canonicalize(out_table, self.dialect)
        out = self.name(out_table)
        if not out:
            return
        _add(res.target_tables, out)
        if not isinstance(target, exp.Table):
            return
        sel = output_rows(ret, target, others, self.dialect)
        found = self.query(sel, res)
        if found:
            if cols is None:
                known = self.ctx.schema.columns(out)
                if known is not None and not any(o.star for o in found[2]):
                    cols = known if len(known) == len(found[2]) else None
            self.edges_into(res, out, cols, *found)

    def _mark_temp(self, res: StatementResult) -> None:
        for t in (*res.source_tables, *res.target_tables):
            if t in self.ctx.temp_tables or t.startswith(("#", "@")):
                _add(res.temporary_tables, t)

    def _attach_with(self, stmt: exp.Expr, query: exp.Expr) -> exp.Expr:
        """Move a statement-level WITH (`WITH c AS (...) INSERT ...`) onto its query."""
        w = stmt.args.get("with_")
        if isinstance(w, exp.With) and isinstance(query, exp.Query) and not query.args.get("with_"):
            stmt.set("with_", None)
            query.set("with_", w)
        return query

    def _synth(
        self,
        from_: exp.Expr | None,
        joins: Sequence[exp.Expr],
        where: exp.Expr | None,
        projections: list[exp.Expr],
        with_: exp.Expr | None,
    ) -> exp.Select:
        sel = exp.Select(expressions=[exp.alias_(p.copy(), f"_p{i}") for i, p in enumerate(projections)])
        if not projections:
            sel.set("expressions", [exp.Literal.number(1)])
        if from_ is not None:
            sel.set("from_", exp.From(this=from_.copy()))
        if joins:
            sel.set("joins", [j.copy() for j in joins])
        if where is not None:
            sel.set("where", where.copy())
        if isinstance(with_, exp.With):
            sel.set("with_", with_.copy())
        return sel

    def _view_target(
        self,
        target: exp.Expr,
        with_: exp.Expr | None,
        from_node: exp.Expr | None,
        depth: int = 0,
        written: list[str] | None = None,
    ) -> tuple[str, dict[str, str]] | None:
        """DML through a CTE or a derived table (`WITH d AS (SELECT ... FROM t) DELETE FROM d`,
        `UPDATE x SET ... FROM (SELECT ... FROM t) x`): the one base table it selects from (what
        is written) and its column names -> the base table's; None when the target is a table.
        An UPDATE of a join view (Oracle `UPDATE (SELECT ... FROM t JOIN u ...) v SET v.c = ...`)
        writes the table the `written` columns come from."""
        if not isinstance(target, exp.Table) or target.args.get("db") or depth > 8:
            return None
        name = target.name
        query: exp.Expr | None = None
        if isinstance(with_, exp.With):
            query = next((c.this for c in with_.expressions if c.alias == name), None)
        if query is None and from_node is not None:
            nodes = [from_node, *(j.this for j in from_node.args.get("joins") or [])]
            query = next((n.this for n in nodes if isinstance(n, exp.Subquery) and n.alias == name), None)
        if written and isinstance(query, exp.Select) and query.args.get("joins"):
            return self._join_view_target(query, written)
        if not isinstance(query, exp.Select) or query.args.get("joins"):
            return None
        src = query.args.get("from_")
        base = src.this if isinstance(src, exp.From) else None
        if not isinstance(base, exp.Table):
            return None
        cmap: dict[str, str] = {}
        for proj in query.expressions:
            body = proj.this if isinstance(proj, exp.Alias) else proj
            if isinstance(body, exp.Column) and not isinstance(body.this, exp.Star):
                cmap[output_name(proj, self.dialect)] = body.name
        inner = self._view_target(base, with_, None, depth + 1)  # a CTE over a CTE
        if inner is not None:
            return inner[0], {k: inner[1].get(v, v) for k, v in cmap.items()}
        return self.name(base), cmap

    def _join_view_target(self, query: exp.Select, written: list[str]) -> tuple[str, dict[str, str]] | None:
        """The base table (and its column names) of the columns `written` through a join view (a
        CTE or derived table), when they are plain columns of one of its tables."""
        src = query.args.get("from_")
        tables = [src.this] if isinstance(src, exp.From) else []
        tables += [j.this for j in query.args.get("joins") or []]
        by_alias = {t.alias_or_name: t for t in tables if isinstance(t, exp.Table)}
        owner: exp.Table | None = None
        cmap: dict[str, str] = {}
        for proj in query.expressions:
            body = proj.this if isinstance(proj, exp.Alias) else proj
            if not isinstance(body, exp.Column) or isinstance(body.this, exp.Star):
                continue
            out = output_name(proj, self.dialect)
            table = by_alias.get(body.table) if body.table else None
            if out in written:
                if table is None or (owner is not None and table is not owner):
                    return None
                owner = table
            if table is not None:
                cmap.setdefault(out, body.name)
        return (self.name(owner), cmap) if owner is not None else None

    def _target_of(self, table: exp.Expr, from_tables: list[exp.Table]) -> str:
        """An UPDATE/DELETE target may name an alias of a FROM table (T-SQL)."""
        if not isinstance(table, exp.Table):
            return ""
        if not table.args.get("db"):
            for t in from_tables:
                if t.alias and t.alias == table.name:
                    return self.name(t)
            for t in from_tables:  # the unaliased FROM table named by its bare name
                if not t.alias and t is not table and t.name == table.name:
                    return self.name(t)
        return self.name(table)

    @staticmethod
    def _alias_of(node: exp.Expr | None) -> str:
        if isinstance(node, exp.Expr):
            return node.alias_or_name
        return ""

    def _table(self, text: str) -> exp.Table:
        """A table name given as text (command bodies, string arguments), canonicalised."""
        table = exp.to_table(text.strip(), dialect=self.dialect or None)
        canonicalize(table, self.dialect)
        return table
