"""CREATE statements: tables, views, routines."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add, _is_temp_create
from finlineage.lineage.model import ColumnDef, ColumnEdge, ObjectDefinition, ObjectKind
from finlineage.lineage.names import sql_text

_DECLARED_PLUS_QUERY = frozenset({"mysql", "singlestore", "doris", "starrocks"})


class CreateExtractor(Extractor):
    """CREATE TABLE/VIEW [AS query], CREATE ... LIKE/CLONE, routine definitions."""

    def create(self, stmt: exp.Create) -> StatementResult:
        kind = (stmt.kind or "").upper()
        target = stmt.this
        col_defs: list[ColumnDef] = []
        declared: list[str] | None = None
        # MySQL `CREATE TABLE t (id INT ...) SELECT a, b`: the declared columns come first and a
        # query column fills the declared one of its name (others are added): matched by name
        by_name = (
            self.dialect in _DECLARED_PLUS_QUERY
            and isinstance(target, exp.Schema)
            and isinstance(stmt.expression, exp.Query)
            and any(isinstance(c, exp.ColumnDef) and c.args.get("kind") for c in target.expressions)
        )
        likes: list[exp.Expr] = []  # PostgreSQL/Redshift `CREATE TABLE t (LIKE s ...)`
        if isinstance(target, exp.Schema):
            likes = [c for c in target.expressions if isinstance(c, exp.LikeProperty)]
            declared = []
            for i, c in enumerate(target.expressions):
                if isinstance(c, exp.ColumnDef):
                    dtype = c.args.get("kind")
                    col_defs.append(
                        ColumnDef(c.name, i + 1, sql_text(dtype, self.dialect) if dtype else None)
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
            res.objects.append(ObjectDefinition(name, okind))  # definition: the statement's text (engine)
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
        # ClickHouse `CREATE MATERIALIZED VIEW mv TO dest AS SELECT ...`: the view's rows are
        # written into `dest` (the view is the trigger that does it): `dest` is the target
        dest = next(
            (
                p.this
                for p in (props.expressions if isinstance(props, exp.Properties) else [])
                if isinstance(p, exp.ToTableProperty) and isinstance(p.this, exp.Table)
            ),
            None,
        )
        written_to = self.name(dest) if dest is not None else tgt
        _add(res.target_tables, written_to)
        if isinstance(props, exp.Properties) or likes:
            for p in [*(props.expressions if isinstance(props, exp.Properties) else []), *likes]:
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
            src = self.name(clone.this)
            _add(res.source_tables, src)
            known = self.ctx.schema.columns(src)
            if known:  # a clone copies the rows: each column from the same column
                self.ctx.schema.add(tgt, known)
                col_defs = col_defs or [ColumnDef(c, i + 1) for i, c in enumerate(known)]
                for c in known:
                    res.column_edges.append(
                        ColumnEdge(f"{tgt}.{c}", (f"{src}.{c}",), "direct", c, subtype="IDENTITY")
                    )
        query = stmt.expression
        if isinstance(query, exp.Query):
            query = self._attach_with(stmt, query)
            got = self.query(query, res)
            if got and by_name and declared is not None:
                written = self.edges_into(res, written_to, None, *got)
                extra = [c for c in written if c not in declared]
                col_defs += [ColumnDef(c, len(col_defs) + i + 1) for i, c in enumerate(extra)]
                if not any(o.star for o in got[2]):
                    self.ctx.schema.add(tgt, [*declared, *extra])
            elif got:
                written = self.edges_into(res, written_to, declared, *got)
                if not any(o.star for o in got[2]):
                    if not col_defs:
                        col_defs = [ColumnDef(c, i + 1) for i, c in enumerate(written)]
                    self.ctx.schema.add(tgt, written)
        elif declared:
            self.ctx.schema.add(tgt, declared, {c.name: c.data_type for c in col_defs})
            if not res.column_edges and not is_temp:  # the declared columns exist, with no upstream
                for c in col_defs:
                    res.column_edges.append(
                        ColumnEdge(f"{tgt}.{c.name}", (), "direct", "", subtype="TRANSFORMATION")
                    )
        res.objects.append(
            ObjectDefinition(
                tgt,
                okind2,
                tuple(col_defs),
                is_temporary=is_temp,
            )
        )
        self._mark_temp(res)
        return res
