"""SELECT (and SELECT ... INTO) statements."""

from __future__ import annotations

from sqlglot import exp

from finlineage.lineage.extractors.base import _PARTITION_MOVERS, Extractor, StatementResult, _add

_SEQUENCE_FUNCTIONS = frozenset({"nextval", "setval", "currval", "lastval"})


def _sequence_call(stmt: exp.Query) -> bool:
    """`SELECT setval('s', n)` / `SELECT nextval('s')` (no FROM, only sequence functions): moves
    a sequence, yields no lineage (its outputs are not columns of anything)."""
    if not isinstance(stmt, exp.Select) or stmt.args.get("from_") or not stmt.expressions:
        return False
    for proj in stmt.expressions:
        fn = proj.this if isinstance(proj, exp.Alias) else proj
        name = fn.name if isinstance(fn, exp.Anonymous) else type(fn).__name__
        if name.lower() not in _SEQUENCE_FUNCTIONS:
            return False
    return True


class SelectExtractor(Extractor):
    """SELECT, set operations, SELECT INTO and Vertica partition meta-functions."""

    def select(self, stmt: exp.Query) -> StatementResult:
        first: exp.Expr = stmt
        while isinstance(first, exp.SetOperation):
            first = first.this
        into = first.args.get("into") if isinstance(first, exp.Select) else None
        if isinstance(into, exp.Into) and isinstance(into.this, exp.Table):
            res = StatementResult("insert")
            tgt = self.name(into.this)
            # analysed without its INTO clauses (put back after: no copy of the statement)
            intos = [(sel, sel.args["into"]) for sel in stmt.find_all(exp.Select) if sel.args.get("into")]
            for sel, _ in intos:
                sel.set("into", None)
            try:
                got = self.query(stmt, res)
            finally:
                for sel, node in intos:
                    sel.set("into", node)
            _add(res.target_tables, tgt)
            if into.args.get("temporary") or tgt.startswith("#"):
                self.ctx.temp_tables.add(tgt)
            if got:
                cols = self.edges_into(res, tgt, None, *got)
                if not any(o.star for o in got[2]):
                    self.ctx.schema.add(tgt, cols)
            self._mark_temp(res)
            return res
        if self.ctx.result is not None:  # RETURN QUERY: the rows of the function's result table
            func, columns = self.ctx.result
            res = StatementResult("return_query")
            got = self.query(stmt, res)
            _add(res.target_tables, func)
            if got:
                self.edges_into(res, func, list(columns) or None, *got)  # (): named by the outputs
            return res
        moved = self._partition_move(stmt)
        if moved is not None:
            return moved
        if _sequence_call(stmt):
            return StatementResult("sequence")
        res = StatementResult("select")
        got = self.query(stmt, res)
        if got and not self.ctx.in_expression:
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
