"""UPDATE statements."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add, _expr_text
from finlineage.lineage.resolver import Output, QueryResolver


class UpdateExtractor(Extractor):
    """UPDATE [FROM ...] SET ...: column edges into the updated table."""

    def update(self, stmt: exp.Update) -> StatementResult:
        res = StatementResult("update")
        target = stmt.this
        from_ = stmt.args.get("from_")
        from_node = from_.this if isinstance(from_, exp.From) else None
        if isinstance(target, exp.Subquery) and from_node is None:
            # Oracle `UPDATE (SELECT ...) v SET v.c = ...`: the view, read as `UPDATE v ... FROM (...) v`
            from_node = target.copy()
            if not from_node.alias:
                from_node.set("alias", exp.TableAlias(this=exp.to_identifier("_updated_view")))
            target = exp.Table(this=exp.to_identifier(from_node.alias))
        joins: list[exp.Expr] = []
        from_tables: list[exp.Table] = []
        if from_node is not None:
            from_tables = list(from_node.find_all(exp.Table)) if isinstance(from_node, exp.Table) else []
            fj = from_node.args.get("joins") or []
            from_tables += [j.this for j in fj if isinstance(j.this, exp.Table)]
        tgt = named = self._target_of(target, from_tables)
        written = [eq.this.name for eq in stmt.expressions if isinstance(eq, exp.EQ)]
        view = self._view_target(target, stmt.args.get("with_"), from_node, written=written)
        cmap: dict[str, str] = {}
        if view is not None:  # UPDATE through a CTE / derived table writes its base table
            tgt, cmap = view
        _add(res.target_tables, tgt)
        base = target.copy() if isinstance(target, exp.Table) else None
        tjoins = []
        if base is not None and base.args.get("joins"):
            tjoins = list(base.args["joins"])
            base.set("joins", None)
        if from_node is not None:
            target_in_from = any(self.name(t) == named for t in from_tables) or (
                view is not None and self._names_derived(from_node, target)
            )
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
                        values.append(vals[i] if i < len(vals) else self._nth_of(eq.expression, i))
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
                self.emit(res, f"{tgt}.{cmap.get(col, col)}", o, indirect, _expr_text(expr, self.dialect))
        target_node = next((t for t in from_tables if self.name(t) == tgt), target)
        self.output_into(stmt, res, target_node, [t for t in from_tables if t is not target_node])
        self._mark_temp(res)
        return res

    @staticmethod
    def _names_derived(from_node: exp.Expr, target: exp.Expr) -> bool:
        """Whether the UPDATE target is the alias of a derived table of its FROM clause."""
        nodes = [from_node, *(j.this for j in from_node.args.get("joins") or [])]
        return any(isinstance(n, exp.Subquery) and n.alias == target.name for n in nodes)

    @staticmethod
    def _nth_of(sub: exp.Expr, i: int) -> exp.Expr:
        """`SET (a, b) = (SELECT x, y ...)`: the scalar subquery giving the i-th column."""
        inner = sub.unnest() if isinstance(sub, exp.Subquery) else None
        if isinstance(inner, exp.Select) and i < len(inner.expressions):
            one = inner.copy()
            one.set("expressions", [inner.expressions[i].copy()])
            return exp.Subquery(this=one)
        return sub

    def _reads_target(
        self, sel: exp.Select, tgt: str, got: tuple[QueryResolver, Scope, list[Output]] | None
    ) -> bool:
        """Whether the target's own columns feed the written values (SET a = a + 1)."""
        if not got:
            return False
        return any(s.startswith(tgt + ".") for o in got[2] for s in o.sources)
