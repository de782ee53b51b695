"""DELETE and TRUNCATE statements: writes of their table."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import Extractor, StatementResult, _add


class DeleteExtractor(Extractor):
    """DELETE [FROM joins] / TRUNCATE."""

    def truncate(self, stmt: exp.TruncateTable) -> StatementResult:
        res = StatementResult("truncate")
        for t in stmt.expressions:
            if isinstance(t, exp.Table):
                _add(res.target_tables, self.name(t))
        return res

    def delete(self, stmt: exp.Delete) -> StatementResult:
        """DELETE [FROM] t [WITH (hints)] [FROM/USING joins] [OUTPUT ... INTO ...] [WHERE ...]: a
        write of t; the tables it joins and filters on are read (T-SQL `DELETE a FROM x JOIN a`
        names the target by alias)."""
        res = StatementResult("delete")
        from_node = stmt.this
        if (
            isinstance(from_node, exp.Table)
            and isinstance(from_node.this, exp.Identifier)
            and not from_node.this.quoted
            and from_node.name.lower() == "table"
            and from_node.alias
        ):  # DELETE FROM TABLE t: the reserved word TABLE names no table, t is the target
            from_node = exp.to_table(from_node.alias)
        using = [t for t in (stmt.args.get("using") or []) if isinstance(t, exp.Table)]
        in_from: list[exp.Table] = []
        if isinstance(from_node, exp.Table):
            in_from = [from_node] + [
                j.this for j in from_node.args.get("joins") or [] if isinstance(j.this, exp.Table)
            ]
        named = [t for t in stmt.args.get("tables") or [] if isinstance(t, exp.Table)]
        target: exp.Expr | None = from_node
        if named:
            target = named[0]
            tgt = self._target_of(named[0], in_from + using)
            for t in in_from + using:
                if self.name(t) == tgt:
                    target = t
                    break
        else:
            tgt = self._target_of(from_node, using)
        view = self._view_target(target, stmt.args.get("with_"), None) if target is not None else None
        if view is not None:  # DELETE through a CTE (deduplication idiom) deletes from its base table
            tgt = view[0]
        _add(res.target_tables, tgt)
        for other in named[1:]:  # MySQL: DELETE t1, t2 FROM t1 JOIN t2 ...: each is written
            _add(res.target_tables, self._target_of(other, in_from + using))
        joins = [exp.Join(this=t.copy(), kind="CROSS") for t in using]
        base = from_node if isinstance(from_node, exp.Table) else None
        sel = self._synth(base, joins, stmt.args.get("where"), [], stmt.args.get("with_"))
        self.query(sel, res)
        res.source_tables = [t for t in res.source_tables if t not in res.target_tables]
        self.output_into(stmt, res, target, [t for t in in_from + using if t is not target])
        self._mark_temp(res)
        return res
