"""INSERT statements: INSERT ... SELECT/VALUES and multi-table INSERT ALL/FIRST."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add, _expr_text
from finlineage.lineage.model import ColumnEdge
from finlineage.lineage.resolver import Output, output_name


class InsertExtractor(Extractor):
    """INSERT into a table, a directory or several tables."""

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
