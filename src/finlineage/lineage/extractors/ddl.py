"""DDL and data-movement statements other than INSERT/UPDATE/MERGE/DELETE."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add
from finlineage.lineage.model import ColumnDef, ColumnEdge, ObjectDefinition


class DdlExtractor(Extractor):
    """DROP, ALTER, COPY, LOAD, CACHE, REFRESH, DECLARE of table variables."""

    def run(self, stmt: exp.Expr) -> StatementResult:
        if isinstance(stmt, exp.Drop):
            return self.drop(stmt)
        if isinstance(stmt, exp.Alter):
            return self.alter(stmt)
        if isinstance(stmt, exp.Copy):
            return self.copy(stmt)
        if isinstance(stmt, exp.LoadData):
            return self.load(stmt)
        if isinstance(stmt, exp.Cache):
            return self.cache(stmt)
        if isinstance(stmt, exp.Declare):
            return self.declare(stmt)
        if isinstance(stmt, exp.Refresh):
            return self.refresh(stmt)
        return self.other(stmt)

    def load(self, stmt: exp.LoadData) -> StatementResult:
        """Hive `LOAD DATA INPATH ... INTO TABLE t`, BigQuery `LOAD DATA [OVERWRITE|INTO] t
        [(col type, ...)] FROM FILES (uris = [...])`: a write of t from files; declared columns
        exist with no upstream column."""
        res = StatementResult("load")
        target = stmt.this
        declared: list[str] = []
        if isinstance(target, exp.Schema):
            declared = [c.name for c in target.expressions if isinstance(c, exp.ColumnDef)]
            target = target.this
        if isinstance(target, exp.Table):
            tgt = self.name(target)
            _add(res.target_tables, tgt)
            if declared:
                self.ctx.schema.add(tgt, declared)
                for c in declared:
                    res.column_edges.append(
                        ColumnEdge(f"{tgt}.{c}", (), "direct", "", subtype="TRANSFORMATION")
                    )
        inpath = stmt.args.get("inpath")
        if isinstance(inpath, exp.Literal):
            _add(res.source_paths, inpath.name)
        files = stmt.args.get("files")
        if isinstance(files, exp.Expr):
            for prop in files.find_all(exp.Property):
                if prop.name.lower() == "uris":
                    for lit in prop.find_all(exp.Literal):
                        if lit.is_string:
                            _add(res.source_paths, lit.name)
        return res

    def cache(self, stmt: exp.Cache) -> StatementResult:
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

    def refresh(self, stmt: exp.Refresh) -> StatementResult:
        # REFRESH MATERIALIZED VIEW recomputes the view's rows; Spark's REFRESH [TABLE] t only
        # invalidates cached metadata: no data is written
        res = StatementResult("refresh")
        if isinstance(stmt.this, exp.Table) and str(stmt.args.get("kind") or "").upper() != "TABLE":
            _add(res.target_tables, self.name(stmt.this))
        return res

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
                                is_temporary=True,
                            )
                        )
        return res
