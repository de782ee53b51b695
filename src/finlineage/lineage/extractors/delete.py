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
