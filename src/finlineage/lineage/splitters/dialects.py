"""The splitter per dialect family: one class per family, as sqlglot has one per dialect.

`Splitter` is the statement dispatcher shared by all; `TSqlSplitter` replaces the block forms
(GO batches, optional semicolons, IF/WHILE governing one statement, TRY/CATCH, table variables,
INSERT ... EXEC). The other families share the walker and differ through their lexer profile
(string forms, comment forms, normalisation) and the few profile checks left in the walker.
"""

from __future__ import annotations

from finlineage.lineage.splitters.lexer import (
    _BUILTIN_CALLS,
    _DROP_WORDS,
    _END_ONLY,
    _NESTING,
    _SQL_VERBS,
    _SQLPLUS,
    _STRAY,
    _SUBQUERY_DROP,
    _TSQL_D,
    _TSQL_STARTERS,
    _TXN_WORDS,
    MAX_NEST,
    _Profile,
)
from finlineage.lineage.splitters.routines import _Routines

__all__ = ["Splitter", "TSqlSplitter", "splitter_class"]


class Splitter(_Routines):
    """Statement dispatch shared by every dialect."""

    def _statement(self, i: int, process: str | None, in_block: bool) -> int:
        toks = self.toks
        k, v, _, _ = toks[i]
        p = self.p
        if k != "W":
            if (
                k == "P"
                and v == "<"
                and self._is_p(i + 1, "<")
                and self._is_p(i + 3, ">")
                and self._is_p(i + 4, ">")
            ):
                return i + 5  # <<label>>
            return self._simple(i, process, in_block)
        # label:
        if self._is_p(i + 1, ":") and v not in _SQL_VERBS and not v.startswith("@"):
            return i + 2
        if v in _NESTING:
            if self.acc.nest >= MAX_NEST:
                if not self.acc.too_deep:
                    self.acc.too_deep = True
                    self.acc.diagnostics.append(
                        self._diag(
                            "too_deep", f"nesting deeper than {MAX_NEST} levels; flattened", toks[i][2]
                        )
                    )
                return i + 1
            self.acc.nest += 1
            try:
                return self._nesting(i, v, process, in_block)
            finally:
                self.acc.nest -= 1
        if v in ("EXEC", "EXECUTE"):
            return self._exec(i, process, in_block)
        if v == "CALL":
            return self._call(i, process, in_block)
        if v == "PERFORM" and not p.tsql:
            return self._perform(i, process, in_block)
        if v == "RETURN":
            return self._return(i, process, in_block)
        if v == "OPEN":
            return self._open(i, process, in_block)
        if v == "PREPARE" and not p.tsql:
            end, nxt = self._scan(i, in_block)
            f = self._find(i + 1, frozenset({"FROM"}), end)
            self._dynamic(i, f + 1 if f >= 0 else end, end, process)
            return nxt
        if v == "FORALL":
            f = self._find(i + 1, frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE"}))
            return self._statement(f, process, in_block) if f > i else self._skip(i, in_block)
        if p.oracle and not in_block and not self.procedural and (v in _SQLPLUS or v.startswith("@")):
            return self._line_end(i)[1]
        if v in _DROP_WORDS:
            end, nxt = self._scan(i, in_block)
            if v in _SUBQUERY_DROP:
                if v == "LET":
                    self._declaration(i + 1, end, process)
                else:
                    self._subqueries(i + 1, end, process)
            return nxt
        if v in _STRAY:
            return i + 1
        if v in _SQL_VERBS or p.tsql:
            return self._simple(i, process, in_block)
        # unknown first word: assignment / bare call (procedural code) / other statement
        end, nxt = self._scan(i, in_block)
        if in_block or self.procedural:
            if self._has_assign(i, end):
                self._subqueries(i + 1, end, process)
                return nxt
            if p.oracle or p.generic:
                name, after = self._name(i)
                if name is not None and (
                    after == end or (self._is_p(after, "(") and self._matching(after, end) == end - 1)
                ):
                    if name.lower() not in _BUILTIN_CALLS:
                        self._emit(i, end, process, sql="", calls=(name,))
                    return nxt
        self._emit(i, end, process)
        return nxt

    def _nesting(self, i: int, v: str, process: str | None, in_block: bool) -> int:
        if v == "BEGIN":
            return self._begin(i, process, in_block)
        if v == "IF":
            return self._if(i, process, in_block)
        if v == "WHILE":
            return self._while(i, process, in_block)
        if v == "DECLARE":
            return self._declare(i, process, in_block)
        if v in ("CREATE", "ALTER"):
            return self._create(i, process, in_block)
        if v == "LOOP":
            j = self._statements(i + 1, _END_ONLY, process, True)
            return self._end(j, ("LOOP",))
        if v == "REPEAT":
            return self._repeat(i, process)
        if v in ("FOR", "FOREACH"):
            return self._for(i, process, in_block)
        if v == "CASE":
            return self._case(i, process, in_block)
        if v == "DO":
            return self._do(i, process, in_block)
        return self._simple(i, process, in_block)


class TSqlSplitter(Splitter):
    """T-SQL / Fabric."""

    def _nesting(self, i: int, v: str, process: str | None, in_block: bool) -> int:
        if v in ("LOOP", "REPEAT", "FOR", "FOREACH", "CASE", "DO"):
            return self._simple(i, process, in_block)
        return super()._nesting(i, v, process, in_block)

    def _begin(self, i: int, process: str | None, in_block: bool, *, force_block: bool = False) -> int:
        j = i + 1
        nv = self._val(j)
        nk = self._kind(j)
        if not force_block and (j >= self.n or nk in (";", "H") or (nk == "W" and nv in _TXN_WORDS)):
            return self._skip(i, in_block)
        if nv in ("TRY", "CATCH"):
            j = self._statements(j + 1, _END_ONLY, process, True)
            if self._word(j) == "END":
                j += 1
                if self._word(j) in ("TRY", "CATCH"):
                    j += 1
            while self._kind(j) == ";":
                j += 1
            if nv == "TRY" and self._word(j) == "BEGIN" and self._word(j + 1) == "CATCH":
                j = self._statements(j + 2, _END_ONLY, process, True)
                if self._word(j) == "END":
                    j += 1
                    if self._word(j) == "CATCH":
                        j += 1
            return j
        j = self._statements(j, _END_ONLY, process, True)
        if self._word(j) == "END":
            j += 1
            if self._kind(j) == ";":
                j += 1
        return j

    def _batch_start(self, i: int) -> bool:
        j = i + 1
        if self._word(j) == "OR" and self._word(j + 1) in ("ALTER", "REPLACE"):
            j += 2
        return self._word(j) in ("PROCEDURE", "PROC", "FUNCTION", "TRIGGER", "VIEW")

    def _cond_end(self, i: int) -> int:
        toks = self.toks
        depth = 0
        j = i
        while j < self.n:
            k, v, _, _ = toks[j]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")" and depth:
                    depth -= 1
            elif (k in (";", "H") and depth == 0) or (
                k == "W"
                and depth == 0
                and v in _TSQL_STARTERS
                and not (v == "UPDATE" and self._is_p(j + 1, "("))
            ):
                return j
            j += 1
        return j

    def _if(self, i: int, process: str | None, in_block: bool) -> int:
        c = self._cond_end(i + 1)
        self._subqueries(i + 1, c, process)
        if c >= self.n or self._kind(c) in (";", "H"):
            return c
        j = self._statement(c, process, False)
        while self._kind(j) == ";":
            j += 1
        if self._word(j) == "ELSE":
            j += 1
            if j < self.n and self._kind(j) not in (";", "H"):
                j = self._statement(j, process, False)
        return j

    def _while(self, i: int, process: str | None, in_block: bool) -> int:
        c = self._cond_end(i + 1)
        self._subqueries(i + 1, c, process)
        if c >= self.n or self._kind(c) in (";", "H"):
            return c
        return self._statement(c, process, False)

    def _declare(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        j = i + 1
        if self._word(j).startswith("@"):
            t = j + 1
            if self._word(t) == "AS":
                t += 1
            if self._word(t) == "TABLE" and self._is_p(t + 1, "("):
                toks = self.toks
                sql = (
                    "CREATE TABLE "
                    + self.text[toks[j][2] : toks[j][3]]
                    + " "
                    + self.text[toks[t + 1][2] : toks[end - 1][3]]
                )
                self._emit(i, end, process, sql=sql)
                return nxt
        self._declaration(j, end, process)
        return nxt

    def _insert_exec(self, i: int, x: int, end: int, nxt: int, process: str | None) -> int:
        j = x + 1
        if self._word(j).startswith("@") and self._is_p(j + 1, "="):
            j += 2
        if self._is_p(j, "(") or self._word(j).startswith("@"):
            self._dynamic(i, j, end, process)
            return nxt
        name, after = self._name(j)
        if name is None:
            self._emit(i, end, process)
            return nxt
        if name.split(".")[-1].lower() == "sp_executesql":
            self._dynamic(i, after, end, process)
            return nxt
        diag = self._diag(
            "unsupported_statement",
            f"INSERT ... EXEC {name}: the rows come from the procedure's result set (not analysed)",
            self.toks[i][2],
            "info",
        )
        self._emit(i, end, process, sql="", calls=(name,), diags=(diag,))
        return nxt

    def _special_insert(self, i: int, end: int, nxt: int, process: str | None) -> int | None:
        x = self._find(i + 1, frozenset({"EXEC", "EXECUTE"}), end)
        return self._insert_exec(i, x, end, nxt, process) if x > 0 else None


def splitter_class(prof: _Profile) -> type[Splitter]:
    """The splitter class of a dialect profile."""
    return TSqlSplitter if prof.name in _TSQL_D else Splitter
