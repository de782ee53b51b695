"""Lineage of one parsed statement: tables, paths and column edges, per statement kind."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.scope import Scope, build_scope

from finlineage.lineage.model import (
    ColumnDef,
    ColumnEdge,
    Diagnostic,
    ObjectDefinition,
    ObjectKind,
    Severity,
)
from finlineage.lineage.names import SchemaIndex, canonicalize, dialect_of, normalize_name, table_name
from finlineage.lineage.resolver import Indirect, Output, QueryResolver, output_name

__all__ = ["Context", "StatementResult", "analyze_statement"]

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

    def name_of(self, table: exp.Table) -> str:
        return table_name(table, default_db=self.default_db, default_schema=self.default_schema)


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
        text = node.sql(dialect=dialect_of(dialect))
    return text if len(text) <= _MAX_EXPR_TEXT else text[:_MAX_EXPR_TEXT] + "..."


def _is_temp_create(create: exp.Create) -> bool:
    props = create.args.get("properties")
    if isinstance(props, exp.Properties):
        for p in props.expressions:
            if isinstance(p, (exp.TemporaryProperty, exp.VolatileProperty)):
                return True
    return False


_NO_LINEAGE: tuple[type[exp.Expr], ...] = (
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Show,
    exp.Describe,
    exp.Grant,
    exp.Revoke,
    exp.Pragma,
    exp.Semicolon,
    exp.Analyze,
    exp.Comment,
)
"""Statements that move no data: recognised, no tables, no diagnostic."""
_NO_LINEAGE_TYPES: dict[type[exp.Expr], str] = {exp.Transaction: "begin"}
_NO_LINEAGE_COMMANDS = frozenset(
    [
        "VACUUM",
        "ANALYZE",
        "REINDEX",
        "CLUSTER",
        "CHECKPOINT",
        "DISCARD",
        "RESET",
        "LOCK",
        "SET",
        "SHOW",
        "EXPLAIN",
        "LISTEN",
        "NOTIFY",
        "UNLISTEN",
        "DEALLOCATE",
        "DBCC",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "OPTIMIZE",
    ]
)
"""Parser-fallback commands that move no data (first word; T-SQL UPDATE STATISTICS too)."""
_REFRESH = re.compile(
    r"^\s*(?:MATERIALIZED\s+VIEW|STREAMING\s+TABLE|DYNAMIC\s+TABLE)\s+(?:CONCURRENTLY\s+)?([^\s;(]+)", re.I
)
"""REFRESH of an object whose rows are recomputed (a write); other REFRESH forms move no data."""
_SET_SCHEMA = re.compile(
    r"^\s*(?:SESSION\s+SET\s+CURRENT_SCHEMA\s*=\s*([^\s;]+)|(?:search_path\s*(?:TO|=)|SCHEMA)\s*([^;]+))",
    re.I,
)
_USE_DB_DIALECTS = frozenset({"tsql", "fabric"})
"""USE sets the database (names are db.schema.name); elsewhere it sets the schema/database
that qualifies one-part names (MySQL/Spark/Hive/...: db.table), Snowflake says which."""


class _Analyzer:
    def __init__(self, ctx: Context, index: int) -> None:
        self.ctx = ctx
        self.index = index
        self.dialect = ctx.dialect

    def diag(self, res: StatementResult, code: str, message: str, severity: Severity = "warning") -> None:
        res.diagnostics.append(Diagnostic(code, message, severity, None, self.index))

    def name(self, table: exp.Table) -> str:
        return self.ctx.name_of(table)

    # ----------------------------------------------------------------- queries
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
        own = {"WINDOW": o.window, "CONDITIONAL": o.conditional}
        for sub in ("JOIN", "FILTER", "GROUP_BY", "SORT", "WINDOW", "CONDITIONAL"):
            cols = indirect.get(sub, frozenset()) | own.get(sub, frozenset())
            cols = frozenset(c for c in cols if not c.endswith(".*"))
            if cols:
                res.column_edges.append(ColumnEdge(tgt, tuple(sorted(cols)), "indirect", "", conf, sub))

    # ----------------------------------------------------------------- kinds
    def run(self, stmt: exp.Expr) -> StatementResult:
        if isinstance(stmt, (exp.Select, exp.SetOperation)):
            return self.select(stmt)
        if isinstance(stmt, exp.Subquery):
            inner = stmt.unnest()
            return self.select(inner) if isinstance(inner, exp.Query) else self.other(stmt)
        if isinstance(stmt, exp.Insert):
            return self.insert(stmt)
        if isinstance(stmt, exp.MultitableInserts):
            return self.multi_insert(stmt)
        if isinstance(stmt, exp.Create):
            return self.create(stmt)
        if isinstance(stmt, exp.Merge):
            return self.merge(stmt)
        if isinstance(stmt, exp.Update):
            return self.update(stmt)
        if isinstance(stmt, exp.Delete):
            return self.delete(stmt)
        if isinstance(stmt, exp.Drop):
            return self.drop(stmt)
        if isinstance(stmt, exp.TruncateTable):
            res = StatementResult("truncate")
            for t in stmt.expressions:
                if isinstance(t, exp.Table):
                    _add(res.target_tables, self.name(t))
            return res
        if isinstance(stmt, exp.Alter):
            return self.alter(stmt)
        if isinstance(stmt, exp.Copy):
            return self.copy(stmt)
        if isinstance(stmt, exp.LoadData):
            res = StatementResult("load")
            if isinstance(stmt.this, exp.Table):
                _add(res.target_tables, self.name(stmt.this))
            inpath = stmt.args.get("inpath")
            if isinstance(inpath, exp.Literal):
                _add(res.source_paths, inpath.name)
            return res
        if isinstance(stmt, exp.Cache):
            res = StatementResult("cache")
            q = stmt.expression
            tgt = self.name(stmt.this) if isinstance(stmt.this, exp.Table) else ""
            _add(res.target_tables, tgt)
            if isinstance(q, exp.Query):
                got = self.query(q, res)
                if got:
                    self.edges_into(res, tgt, None, *got)
            _add(res.temporary_tables, tgt)
            return res
        if isinstance(stmt, exp.Declare):
            return self.declare(stmt)
        if isinstance(stmt, exp.Use):
            return self.use(stmt)
        if isinstance(stmt, exp.Refresh):
            # REFRESH MATERIALIZED VIEW recomputes the view's rows; Spark's REFRESH [TABLE] t only
            # invalidates cached metadata: no data is written
            res = StatementResult("refresh")
            if isinstance(stmt.this, exp.Table) and str(stmt.args.get("kind") or "").upper() != "TABLE":
                _add(res.target_tables, self.name(stmt.this))
            return res
        if isinstance(stmt, _NO_LINEAGE):
            return StatementResult(_NO_LINEAGE_TYPES.get(type(stmt), type(stmt).__name__.lower()))
        if isinstance(stmt, exp.Command):
            return self.command(stmt)
        return self.other(stmt)

    def other(self, stmt: exp.Expr) -> StatementResult:
        kind = type(stmt).__name__.lower()
        res = StatementResult(kind)
        self.diag(res, "unsupported_statement", f"no lineage rule for a {kind} statement", "info")
        return res

    def select(self, stmt: exp.Query) -> StatementResult:
        first: exp.Expr = stmt
        while isinstance(first, exp.SetOperation):
            first = first.this
        into = first.args.get("into") if isinstance(first, exp.Select) else None
        if isinstance(into, exp.Into) and isinstance(into.this, exp.Table):
            res = StatementResult("insert")
            tgt = self.name(into.this)
            stmt = stmt.copy()
            for sel in stmt.find_all(exp.Select):
                if sel.args.get("into"):
                    sel.set("into", None)
            got = self.query(stmt, res)
            _add(res.target_tables, tgt)
            if into.args.get("temporary") or tgt.startswith("#"):
                self.ctx.temp_tables.add(tgt)
            if got:
                cols = self.edges_into(res, tgt, None, *got)
                if not any(o.star for o in got[2]):
                    self.ctx.schema.add(tgt, cols)
            self._mark_temp(res)
            return res
        moved = self._partition_move(stmt)
        if moved is not None:
            return moved
        res = StatementResult("select")
        got = self.query(stmt, res)
        if got:
            self.edges_into(res, "", None, *got)
        self._mark_temp(res)
        return res

    def _partition_move(self, stmt: exp.Query) -> StatementResult | None:
        """Vertica's partition meta-functions move data from their first table to their last:
        SELECT SWAP_PARTITIONS_BETWEEN_TABLES('src', lo, hi, 'dst') (also MOVE_/COPY_PARTITIONS_TO_TABLE)."""
        if not isinstance(stmt, exp.Select) or stmt.args.get("from_"):
            return None
        for proj in stmt.expressions:
            fn = proj.this if isinstance(proj, exp.Alias) else proj
            if not isinstance(fn, exp.Anonymous) or fn.name.lower() not in _PARTITION_MOVERS:
                continue
            args = fn.expressions
            if len(args) >= 4 and isinstance(args[0], exp.Literal) and isinstance(args[-1], exp.Literal):
                res = StatementResult("partition_move")
                src = self._table(args[0].name)
                dst = self._table(args[-1].name)
                _add(res.source_tables, self.name(src))
                _add(res.target_tables, self.name(dst))
                return res
        return None

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

    def insert(self, stmt: exp.Insert) -> StatementResult:
        res = StatementResult("insert")
        target = stmt.this
        cols: list[str] | None = None
        static_parts: set[str] = set()
        if isinstance(target, exp.Schema):
            cols = [c.name for c in target.expressions if isinstance(c, (exp.Identifier, exp.Column))]
            target = target.this
        tgt = ""
        if isinstance(target, exp.Table):
            tgt = self.name(target)
            part = target.args.get("partition")
            if isinstance(part, exp.Partition):
                for p in part.expressions:
                    if isinstance(p, exp.EQ) and isinstance(p.this, exp.Column):
                        static_parts.add(p.this.name)
            _add(res.target_tables, tgt)
        elif isinstance(target, exp.Directory):
            path = target.this.name if isinstance(target.this, exp.Literal) else target.this.sql()
            _add(res.target_paths, path)
        elif isinstance(target, exp.Func) or stmt.args.get("is_function"):
            self.diag(res, "unsupported_statement", "INSERT INTO a table function")
        query = stmt.expression
        if query is None:
            return res
        if cols is None and tgt:
            known = self.ctx.schema.columns(tgt)
            if known is not None:
                cols = [c for c in known if c not in static_parts]
        if stmt.args.get("by_name"):
            cols = None
        if isinstance(query, exp.Values):
            if cols is not None and tgt:
                row = self._values_row(query, res)
                for i, c in enumerate(cols):
                    o = row[i] if row is not None and i < len(row) else None
                    if o is None:
                        res.column_edges.append(
                            ColumnEdge(f"{tgt}.{c}", (), "direct", "VALUES", subtype="TRANSFORMATION")
                        )
                        continue
                    expr = o.expression.this if isinstance(o.expression, exp.Alias) else o.expression
                    self.emit(res, f"{tgt}.{c}", o, {}, _expr_text(expr, self.dialect))
            for sub in query.find_all(exp.Subquery):
                self.query(sub.unnest(), res)  # tables read by subqueries in VALUES
            self._mark_temp(res)
            return res
        query = self._attach_with(stmt, query)
        if isinstance(query, exp.Query):
            got = self.query(query, res)
            if got:
                self.edges_into(res, tgt or (res.target_paths[0] if res.target_paths else ""), cols, *got)
        self._mark_temp(res)
        return res

    def _values_row(self, values: exp.Values, res: StatementResult) -> list[Output] | None:
        """Outputs of a single-row VALUES that is more than literals (procedural code inserting
        variables, trigger rows, expressions); None for literal rows and multi-row data."""
        rows = values.expressions
        if len(rows) != 1 or not isinstance(rows[0], exp.Tuple):
            return None
        items = rows[0].expressions
        if all(isinstance(v, (exp.Literal, exp.Null, exp.Boolean, exp.Neg)) for v in items):
            return None
        if not any(isinstance(n, (exp.Column, exp.Placeholder)) for v in items for n in v.walk()):
            return None
        if any(isinstance(n, exp.Query) for v in items for n in v.walk()):
            return None  # subqueries in VALUES: their tables are read below, columns not mapped
        got = self.query(self._synth(None, [], None, list(items), None), res)
        return got[2] if got else None

    def multi_insert(self, stmt: exp.MultitableInserts) -> StatementResult:
        """Oracle INSERT ALL/FIRST: each INTO branch reads the shared source query."""
        res = StatementResult("insert")
        source = stmt.args.get("source")
        if not isinstance(source, exp.Query):
            self.diag(res, "unsupported_statement", "multi-table INSERT without a source query")
            return res
        for branch in stmt.expressions:
            ins = branch.this if isinstance(branch, exp.ConditionalInsert) else branch
            if not isinstance(ins, exp.Insert):
                continue
            target = ins.this
            cols: list[str] | None = None
            if isinstance(target, exp.Schema):
                cols = [c.name for c in target.expressions]
                target = target.this
            if not isinstance(target, exp.Table):
                continue
            tgt = self.name(target)
            _add(res.target_tables, tgt)
            if cols is None:
                cols = self.ctx.schema.columns(tgt)
            values = ins.expression
            row = values.expressions[0] if isinstance(values, exp.Values) and values.expressions else None
            projections: list[exp.Expr] = (
                [exp.alias_(v.copy(), output_name(v, self.dialect)) for v in row.expressions]
                if isinstance(row, exp.Tuple)
                else [exp.Star()]
            )
            sel = exp.Select(expressions=projections).from_(
                exp.Subquery(this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("_source")))
            )
            cond = branch.args.get("expression") if isinstance(branch, exp.ConditionalInsert) else None
            if isinstance(cond, exp.Expr):
                sel = sel.where(cond.copy())
            got = self.query(sel, res)
            if got:
                self.edges_into(res, tgt, cols, *got)
        self._mark_temp(res)
        return res

    def create(self, stmt: exp.Create) -> StatementResult:
        kind = (stmt.kind or "").upper()
        target = stmt.this
        col_defs: list[ColumnDef] = []
        declared: list[str] | None = None
        if isinstance(target, exp.Schema):
            declared = []
            for i, c in enumerate(target.expressions):
                if isinstance(c, exp.ColumnDef):
                    dtype = c.args.get("kind")
                    col_defs.append(
                        ColumnDef(c.name, i + 1, dtype.sql(dialect=self.dialect or None) if dtype else None)
                    )
                    declared.append(c.name)
                elif isinstance(c, (exp.Identifier, exp.Column)):
                    col_defs.append(ColumnDef(c.name, i + 1))
                    declared.append(c.name)
            target = target.this
        if kind in ("FUNCTION", "PROCEDURE", "TRIGGER", "MACRO"):
            res = StatementResult(f"create_{kind.lower()}")
            name = ""
            inner = target.this if isinstance(target, exp.UserDefinedFunction) else target
            if isinstance(inner, exp.Table):
                name = self.name(inner)
            okind: ObjectKind = "function" if kind in ("FUNCTION", "MACRO") else kind.lower()  # type: ignore[assignment]
            res.objects.append(ObjectDefinition(name, okind, definition=_expr_text(stmt, self.dialect)))
            return res
        if not isinstance(target, exp.Table):
            res = StatementResult(f"create_{kind.lower() or 'other'}")
            if kind not in ("SCHEMA", "DATABASE", "INDEX", "SEQUENCE", "TYPE", "ROLE", "USER"):
                self.diag(res, "unsupported_statement", f"no lineage rule for CREATE {kind}", "info")
            return res
        tgt = self.name(target)
        props = stmt.args.get("properties")
        materialized = isinstance(props, exp.Properties) and any(
            isinstance(p, exp.MaterializedProperty) for p in props.expressions
        )
        is_temp = _is_temp_create(stmt) or tgt.startswith(("#", "@"))
        okind2: ObjectKind
        if kind == "VIEW":
            okind2 = "materialized_view" if materialized else "view"
            res = StatementResult("create_view")
        elif kind == "TABLE":
            okind2 = "table"
            res = StatementResult("create_table")
        elif kind in ("INDEX", "SCHEMA", "DATABASE", "SEQUENCE"):
            return StatementResult(f"create_{kind.lower()}")
        else:
            okind2 = "table"
            res = StatementResult(f"create_{kind.lower() or 'other'}")
        if is_temp:
            self.ctx.temp_tables.add(tgt)
        _add(res.target_tables, tgt)
        if isinstance(props, exp.Properties):
            for p in props.expressions:
                if isinstance(p, exp.LikeProperty) and isinstance(p.this, exp.Table):
                    src = self.name(p.this)
                    _add(res.source_tables, src)
                    known = self.ctx.schema.columns(src)
                    if known:
                        self.ctx.schema.add(tgt, known)
                        col_defs = [ColumnDef(c, i + 1) for i, c in enumerate(known)]
                        for c in known:
                            res.column_edges.append(
                                ColumnEdge(f"{tgt}.{c}", (f"{src}.{c}",), "direct", c, subtype="IDENTITY")
                            )
                if isinstance(p, exp.LocationProperty):
                    _add(res.target_paths, p.this.name if isinstance(p.this, exp.Literal) else "")
        clone = stmt.args.get("clone")
        if isinstance(clone, exp.Clone) and isinstance(clone.this, exp.Table):
            _add(res.source_tables, self.name(clone.this))
        query = stmt.expression
        if isinstance(query, exp.Query):
            query = self._attach_with(stmt, query)
            got = self.query(query, res)
            if got:
                written = self.edges_into(res, tgt, declared, *got)
                if not any(o.star for o in got[2]):
                    if not col_defs:
                        col_defs = [ColumnDef(c, i + 1) for i, c in enumerate(written)]
                    self.ctx.schema.add(tgt, written)
        elif declared:
            self.ctx.schema.add(tgt, declared, {c.name: c.data_type for c in col_defs})
        res.objects.append(
            ObjectDefinition(
                tgt,
                okind2,
                tuple(col_defs),
                definition=_expr_text(stmt, self.dialect),
                is_temporary=is_temp,
            )
        )
        self._mark_temp(res)
        return res

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

    def _target_of(self, table: exp.Expr, from_tables: list[exp.Table]) -> str:
        """An UPDATE/DELETE target may name an alias of a FROM table (T-SQL)."""
        if not isinstance(table, exp.Table):
            return ""
        if not table.args.get("db"):
            for t in from_tables:
                if t.alias and t.alias == table.name:
                    return self.name(t)
        return self.name(table)

    def update(self, stmt: exp.Update) -> StatementResult:
        res = StatementResult("update")
        target = stmt.this
        from_ = stmt.args.get("from_")
        from_node = from_.this if isinstance(from_, exp.From) else None
        joins: list[exp.Expr] = []
        from_tables: list[exp.Table] = []
        if from_node is not None:
            from_tables = list(from_node.find_all(exp.Table)) if isinstance(from_node, exp.Table) else []
            fj = from_node.args.get("joins") or []
            from_tables += [j.this for j in fj if isinstance(j.this, exp.Table)]
        tgt = self._target_of(target, from_tables)
        _add(res.target_tables, tgt)
        base = target.copy() if isinstance(target, exp.Table) else None
        tjoins = []
        if base is not None and base.args.get("joins"):
            tjoins = list(base.args["joins"])
            base.set("joins", None)
        if from_node is not None:
            target_in_from = any(self.name(t) == tgt for t in from_tables)
            if target_in_from:
                base_from: exp.Expr | None = from_node
            else:
                base_from = base
                joins.append(exp.Join(this=from_node.copy(), kind="CROSS"))
        else:
            base_from = base
        joins = tjoins + joins
        targets: list[str] = []
        values: list[exp.Expr] = []
        for eq in stmt.expressions:
            if isinstance(eq, exp.EQ):
                col = eq.this
                if isinstance(col, exp.Tuple) and isinstance(eq.expression, (exp.Tuple, exp.Subquery)):
                    vals = eq.expression.expressions if isinstance(eq.expression, exp.Tuple) else []
                    for i, c in enumerate(col.expressions):
                        targets.append(c.name)
                        values.append(vals[i] if i < len(vals) else eq.expression)
                    continue
                targets.append(col.name)
                values.append(eq.expression)
        sel = self._synth(base_from, joins, stmt.args.get("where"), values, stmt.args.get("with_"))
        got = self.query(sel, res)
        res.source_tables = [t for t in res.source_tables if t != tgt] + (
            [tgt] if self._reads_target(sel, tgt, got) else []
        )
        if got:
            resolver, root, outs = got
            indirect = resolver.indirect(root)
            for col, o in zip(targets, outs, strict=False):
                expr = o.expression.this if isinstance(o.expression, exp.Alias) else o.expression
                self.emit(res, f"{tgt}.{col}", o, indirect, _expr_text(expr, self.dialect))
        self._mark_temp(res)
        return res

    def _reads_target(
        self, sel: exp.Select, tgt: str, got: tuple[QueryResolver, Scope, list[Output]] | None
    ) -> bool:
        """Whether the target's own columns feed the written values (SET a = a + 1)."""
        if not got:
            return False
        return any(s.startswith(tgt + ".") for o in got[2] for s in o.sources)

    def delete(self, stmt: exp.Delete) -> StatementResult:
        res = StatementResult("delete")
        target = stmt.this
        tables = [t for t in (stmt.args.get("using") or []) if isinstance(t, exp.Table)]
        tgt = self._target_of(target, tables)
        _add(res.target_tables, tgt)
        joins = [exp.Join(this=t.copy(), kind="CROSS") for t in tables]
        base = target if isinstance(target, exp.Table) else None
        sel = self._synth(base, joins, stmt.args.get("where"), [], stmt.args.get("with_"))
        self.query(sel, res)
        res.source_tables = [t for t in res.source_tables if t != tgt]
        self._mark_temp(res)
        return res

    def merge(self, stmt: exp.Merge) -> StatementResult:
        res = StatementResult("merge")
        target = stmt.this
        tgt = self.name(target) if isinstance(target, exp.Table) else ""
        _add(res.target_tables, tgt)
        using = stmt.args.get("using")
        on = stmt.args.get("on")
        branches: list[tuple[str, list[str], list[exp.Expr]]] = []
        whens = stmt.args.get("whens")
        for w in whens.expressions if isinstance(whens, exp.Whens) else []:
            then = w.args.get("then")
            label = "WHEN MATCHED" if w.args.get("matched") else "WHEN NOT MATCHED"
            if isinstance(then, exp.Update):
                cols = [eq.this.name for eq in then.expressions if isinstance(eq, exp.EQ)]
                vals = [eq.expression for eq in then.expressions if isinstance(eq, exp.EQ)]
                branches.append((label + " UPDATE", cols, vals))
            elif isinstance(then, exp.Insert):
                cols_node = then.this
                vals_node = then.expression
                vals = list(vals_node.expressions) if isinstance(vals_node, exp.Tuple) else []
                if isinstance(cols_node, exp.Tuple):
                    cols = [c.name for c in cols_node.expressions]
                else:
                    cols = list(self.ctx.schema.columns(tgt) or [])
                if isinstance(vals_node, exp.Star) or (
                    isinstance(vals_node, exp.Var) and vals_node.name.upper() == "ROW"
                ):
                    vals = [exp.column(c, table=self._alias_of(using)) for c in cols]
                branches.append((label + " INSERT", cols, vals))
        values = [v for _, _, vs in branches for v in vs]
        joins = []
        if isinstance(using, exp.Expr):
            joins.append(exp.Join(this=using.copy(), on=on.copy() if isinstance(on, exp.Expr) else None))
        sel = self._synth(
            target if isinstance(target, exp.Table) else None, joins, None, values, stmt.args.get("with_")
        )
        got = self.query(sel, res)
        res.source_tables = [t for t in res.source_tables if t != tgt]
        if got:
            resolver, root, outs = got
            indirect = resolver.indirect(root)
            i = 0  # outs hold every branch's values, in order
            for label, cols, vs in branches:
                for k in range(len(vs)):
                    o = outs[i] if i < len(outs) else None
                    i += 1
                    if o is None or k >= len(cols):
                        continue
                    tgt_col = f"{tgt}.{cols[k]}"
                    expr = o.expression.this if isinstance(o.expression, exp.Alias) else o.expression
                    self.emit(res, tgt_col, o, indirect, f"{label}: {_expr_text(expr, self.dialect)}")
        self._mark_temp(res)
        return res

    @staticmethod
    def _alias_of(node: exp.Expr | None) -> str:
        if isinstance(node, exp.Expr):
            return node.alias_or_name
        return ""

    def drop(self, stmt: exp.Drop) -> StatementResult:
        res = StatementResult("drop")
        kind = (stmt.kind or "").upper()
        if kind not in ("TABLE", "VIEW", "MATERIALIZED VIEW", ""):
            return StatementResult(f"drop_{kind.lower().replace(' ', '_')}")
        tables = stmt.args.get("tables") or ([stmt.this] if isinstance(stmt.this, exp.Table) else [])
        for t in tables:
            if isinstance(t, exp.Table):
                name = self.name(t)
                _add(res.target_tables, name)
                self.ctx.schema.remove(name)
        self._mark_temp(res)
        return res

    def alter(self, stmt: exp.Alter) -> StatementResult:
        res = StatementResult("alter")
        this = self.name(stmt.this) if isinstance(stmt.this, exp.Table) else ""
        for action in stmt.args.get("actions") or []:
            if isinstance(action, exp.AlterRename) and isinstance(action.this, exp.Table):
                res.type = "rename"
                new = self.name(action.this)
                if not action.this.args.get("db") and "." in this:
                    new = this.rsplit(".", 1)[0] + "." + action.this.name
                res.renames.append((this, new))
                cols = self.ctx.schema.columns(this)
                if cols:
                    self.ctx.schema.add(new, cols)
                    self.ctx.schema.remove(this)
                return res
            if isinstance(action, exp.SwapTable) and isinstance(action.this, exp.Table):
                # the altered table receives the other table's data (and vice versa)
                res.type = "swap"
                _add(res.source_tables, self.name(action.this))
                _add(res.target_tables, this)
                return res
        _add(res.target_tables, this)
        return res

    def copy(self, stmt: exp.Copy) -> StatementResult:
        res = StatementResult("copy")
        this = stmt.this
        into_path = isinstance(this, exp.Table) and isinstance(this.this, exp.Literal)
        loading = bool(stmt.args.get("kind"))
        files = stmt.args.get("files") or []
        if into_path:
            _add(res.target_paths, this.this.name)
        elif isinstance(this, exp.Table):
            if loading:
                _add(res.target_tables, self.name(this))
            else:
                _add(res.source_tables, self.name(this))
        elif isinstance(this, exp.Subquery):
            self.query(this.unnest(), res)
        for f in files:
            if isinstance(f, exp.Subquery) and isinstance(f.unnest(), exp.Query):
                self.query(f.unnest(), res)
            elif isinstance(f, exp.Table) and isinstance(f.this, (exp.Var, exp.Literal)):
                path = f.this.name
                (res.source_paths if loading else res.target_paths).append(path)
            elif isinstance(f, exp.Literal):
                (res.source_paths if loading else res.target_paths).append(f.name)
            elif isinstance(f, exp.Table):
                (res.source_tables if loading else res.target_tables).append(self.name(f))
        return res

    def declare(self, stmt: exp.Declare) -> StatementResult:
        res = StatementResult("declare")
        for item in stmt.expressions:
            kind = item.args.get("kind")
            if isinstance(kind, exp.Schema):
                names = item.this if isinstance(item.this, list) else [item.this]
                for n in names:
                    if isinstance(n, exp.Expr):
                        name = "@" + n.name
                        cols = [c.name for c in kind.expressions if isinstance(c, exp.ColumnDef)]
                        self.ctx.schema.add(name, cols)
                        self.ctx.temp_tables.add(name)
                        _add(res.temporary_tables, name)
                        res.objects.append(
                            ObjectDefinition(
                                name,
                                "table",
                                tuple(ColumnDef(c, i + 1) for i, c in enumerate(cols)),
                                definition=_expr_text(stmt, self.dialect),
                                is_temporary=True,
                            )
                        )
        return res

    _UNLOAD = re.compile(r"^\s*\(\s*'((?:[^']|'')*)'\s*\)\s*TO\s*'([^']*)'", re.I | re.S)
    _RENAME = re.compile(r"^\s*TABLE\s+(.+)$", re.I | re.S)
    _EXCHANGE = re.compile(
        r"^\s*TABLE\s+(\S+)\s+EXCHANGE\s+PARTITION\s*\(.*?\)\s*WITH\s+TABLE\s+(\S+)", re.I | re.S
    )

    def _table(self, text: str) -> exp.Table:
        """A table name given as text (command bodies, string arguments), canonicalised."""
        table = exp.to_table(text.strip(), dialect=self.dialect or None)
        canonicalize(table, self.dialect)
        return table

    def _set_schema(self, names: str) -> None:
        """PostgreSQL `SET search_path` / `SET SCHEMA`, Oracle `ALTER SESSION SET CURRENT_SCHEMA`:
        the first schema qualifies later one-part names. `$user` and `public` (PostgreSQL's
        defaults) leave names as they are, like a script without the statement."""
        for raw in names.split(","):
            raw = raw.strip()
            quoted = raw[:1] in ("'", '"')
            name = normalize_name(raw.strip("'\""), self.dialect, quoted=raw[:1] == '"')
            if not name or name in ("$user", "public") or (not quoted and not _PLAIN_NAME.match(name)):
                continue
            self.ctx.default_schema = name
            return

    def use(self, stmt: exp.Use) -> StatementResult:
        """USE db / USE [DATABASE|SCHEMA] x: qualifies one-part names of later statements."""
        res = StatementResult("use")
        kind = stmt.args.get("kind")
        kind_name = kind.name.upper() if isinstance(kind, exp.Expr) else ""
        target = stmt.this
        if not isinstance(target, exp.Table) or kind_name not in ("", "DATABASE", "SCHEMA", "CATALOG"):
            return res  # USE ROLE / WAREHOUSE / SECONDARY ROLES: no naming effect
        parts = [p.name for p in target.parts if p.name]
        if not parts:
            return res
        ctx = self.ctx
        if self.dialect in _USE_DB_DIALECTS:
            ctx.default_db = parts[-1]
            ctx.default_schema = ctx.default_schema or "dbo"
        elif self.dialect == "snowflake":
            if kind_name == "SCHEMA" or len(parts) == 2:
                if len(parts) == 2:
                    ctx.default_db = parts[0]
                ctx.default_schema = parts[-1]
            else:
                ctx.default_db = parts[-1]
                ctx.default_schema = "public"
        elif kind_name == "CATALOG":
            ctx.default_db = parts[-1]
        else:  # MySQL/Spark/Hive/Databricks/DuckDB/...: the database that qualifies table names
            if len(parts) == 2:
                ctx.default_db = parts[0]
            ctx.default_schema = parts[-1]
        return res

    def command(self, stmt: exp.Command) -> StatementResult:
        word = str(stmt.this or "").upper()
        body = (
            stmt.expression.name if isinstance(stmt.expression, exp.Literal) else str(stmt.expression or "")
        )
        if word == "REFRESH":
            res = StatementResult("refresh")
            m = _REFRESH.match(body)
            if m:
                _add(res.target_tables, self.name(self._table(m.group(1))))
            return res
        if word == "SET" or (word == "ALTER" and body.lstrip().upper().startswith("SESSION")):
            m = _SET_SCHEMA.match(body)
            if m:
                self._set_schema(m.group(1) or m.group(2))
            return StatementResult("set")
        if word.split(" ", 1)[0] in _NO_LINEAGE_COMMANDS or word == "UPDATE STATISTICS":
            return StatementResult(word.lower().replace(" ", "_"))
        if word == "UNLOAD":
            m = self._UNLOAD.match(body)
            res = StatementResult("unload")
            if m:
                _add(res.target_paths, m.group(2))
                inner = m.group(1).replace("''", "'")
                try:
                    q = sqlglot.parse_one(inner, dialect=self.dialect or None)
                except (SqlglotError, RecursionError):
                    q = None
                if isinstance(q, exp.Query):
                    self.query(canonicalize(q, self.dialect), res)
                return res
            self.diag(res, "unsupported_statement", "cannot read this UNLOAD statement")
            return res
        if word == "RENAME":
            res = StatementResult("rename")
            m = self._RENAME.match(body)
            if m:
                for pair in m.group(1).split(","):
                    bits = re.split(r"\s+TO\s+", pair.strip(), flags=re.I)
                    if len(bits) == 2:
                        a = self._table(bits[0])
                        b = self._table(bits[1])
                        res.renames.append((self.name(a), self.name(b)))
                return res
        if word == "ALTER":
            m = self._EXCHANGE.match(body)
            if m:
                res = StatementResult("exchange_partition")
                a = self._table(m.group(1))
                b = self._table(m.group(2))
                _add(res.source_tables, self.name(b))
                _add(res.target_tables, self.name(a))
                return res
        res = StatementResult(word.lower() or "command")
        self.diag(res, "unsupported_statement", f"statement not understood by the parser: {word}")
        return res


def analyze_statement(stmt: exp.Expr, ctx: Context, index: int) -> StatementResult:
    """Lineage of one parsed, identifier-normalised statement."""
    res = _Analyzer(ctx, index).run(stmt)
    if ctx.row_tables:  # a trigger reading its NEW/OLD row reads the table it fires on
        for table in dict.fromkeys(ctx.row_tables.values()):
            prefix = table + "."
            if any(src.startswith(prefix) for e in res.column_edges for src in e.sources):
                _add(res.source_tables, table)
    return res
