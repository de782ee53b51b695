"""MERGE statements."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add, _expr_text


class MergeExtractor(Extractor):
    """MERGE INTO ... USING ...: one edge set per WHEN branch."""

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
                if any(isinstance(e, exp.Star) for e in then.expressions):  # UPDATE SET *
                    cols = self._star_columns(tgt, using)
                    vals = [exp.column(c, table=self._alias_of(using)) for c in cols]
                branches.append((label + " UPDATE", cols, vals))
            elif isinstance(then, exp.Insert):
                cols_node = then.this
                vals_node = then.expression
                if isinstance(cols_node, exp.Var) and cols_node.name.upper() == "ROW":
                    # BigQuery INSERT ROW: the source row's columns, by position, into the target's
                    cols = list(self.ctx.schema.columns(tgt) or [])
                    source = self._source_columns(using) or cols
                    vals = [exp.column(c, table=self._alias_of(using)) for c in source[: len(cols)]]
                    branches.append((label + " INSERT", cols, vals))
                    continue
                if isinstance(cols_node, exp.Star):  # INSERT * (Databricks/Spark)
                    cols = self._star_columns(tgt, using)
                    vals = [exp.column(c, table=self._alias_of(using)) for c in cols]
                    branches.append((label + " INSERT", cols, vals))
                    continue
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
        self.output_into(stmt, res, target, [using] if isinstance(using, exp.Expr) else [])
        self._mark_temp(res)
        return res

    def _star_columns(self, tgt: str, using: exp.Expr | None) -> list[str]:
        """`UPDATE SET *` / `INSERT *`: every column of the target, each from the source column of
        the same name (the target's columns when the schema knows them, else the source's: a
        table's known columns, or the named outputs of a source query without `*`)."""
        return list(self.ctx.schema.columns(tgt) or self._source_columns(using))

    def _source_columns(self, using: exp.Expr | None) -> list[str]:
        """The columns of a MERGE source, in order: a table's known columns, or the named outputs
        of a source query without `*`; [] when unknown."""
        if isinstance(using, exp.Table):
            return list(self.ctx.schema.columns(self.name(using)) or [])
        query = using.unnest() if isinstance(using, exp.Subquery) else None
        if isinstance(query, exp.Query) and not any(
            isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star) for s in query.selects
        ):
            return [n for n in query.named_selects if n]
        return []

    @staticmethod
    def _alias_of(node: exp.Expr | None) -> str:
        if isinstance(node, exp.Expr):
            return node.alias_or_name
        return ""
