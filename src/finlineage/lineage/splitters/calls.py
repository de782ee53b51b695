"""Calls (EXEC, CALL, PERFORM), RETURN, OPEN ... FOR and dynamic SQL."""

from __future__ import annotations

from finlineage.lineage.splitters.lexer import _QUERY_START
from finlineage.lineage.splitters.walker import _Walker


class _Calls(_Walker):
    def _exec(self, i: int, process: str | None, in_block: bool) -> int:
        p = self.p
        if p.oracle and not in_block and not self.procedural and self._word(i + 1) != "IMMEDIATE":
            end, nxt = self._line_end(i)
        else:
            end, nxt = self._scan(i, in_block)
        j = i + 1
        if self._word(j) == "IMMEDIATE":
            self._dynamic(i, j + 1, end, process)
            return nxt
        if p.pg:
            self._dynamic(i, j, end, process)
            return nxt
        if p.mysql or self._word(j) in ("AS", "TASK"):
            return nxt  # MySQL EXECUTE of a prepared statement (reported at PREPARE); EXECUTE AS
        if self._word(j).startswith("@") and self._is_p(j + 1, "="):
            j += 2
        if self._is_p(j, "("):
            m = self._matching(j, end)
            self._dynamic(i, j + 1, m, process)
            return nxt
        if self._word(j).startswith("@"):
            self._dynamic(i, j, end, process)
            return nxt
        name, after = self._name(j)
        if name is None:
            self._dynamic(i, j, end, process)
            return nxt
        if name.split(".")[-1].lower() == "sp_executesql":
            c = after
            while c < end and not self._is_p(c, ","):
                c += 1
            self._dynamic(i, after, c, process)
            return nxt
        self._emit(i, end, process, sql="", calls=(name,))
        return nxt

    def _call(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        name, _ = self._name(i + 1)
        if name is not None:
            self._emit(i, end, process, sql="", calls=(name,))
        return nxt

    def _perform(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        name, after = self._name(i + 1)
        is_call = name is not None and self._is_p(after, "(")
        if is_call and self._matching(after, end) == end - 1:
            self._emit(i, end, process, sql="", calls=(name,) if name else ())
            return nxt
        if i + 1 < end:
            toks = self.toks
            sql = "SELECT " + self.text[toks[i + 1][2] : toks[end - 1][3]]
            self._emit(i, end, process, sql=sql, calls=(name,) if is_call and name else ())
        return nxt

    def _return(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        j = i + 1
        if self._word(j) == "QUERY":
            j += 1
            if self._word(j) == "EXECUTE":
                self._dynamic(i, j + 1, end, process)
            else:
                self._emit(j, end, process)
        elif self._word(j) in _QUERY_START:
            self._emit(j, end, process)
        else:
            self._subqueries(j, end, process)
        return nxt

    def _open(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        f = self._find(i + 1, frozenset({"FOR"}), end)
        if f > 0:
            q = f + 1
            if self._word(q) in _QUERY_START:
                self._emit(q, end, process)
            elif self._word(q) == "EXECUTE":
                self._dynamic(i, q + 1, end, process)
            elif q < end:
                self._dynamic(i, q, end, process)
        return nxt

    def _dynamic(self, i: int, a: int, b: int, process: str | None) -> None:
        """Dynamic SQL whose text is tokens [a, b): analyse a single literal, else warn."""
        toks = self.toks
        pos = toks[i][2]
        if a < b and toks[a][0] in ("S", "D") and (a + 1 == b or self._word(a + 1) in ("USING", "INTO")):
            if toks[a][0] == "D":
                seg_diags = self.seg_diags
            else:
                seg_diags = (
                    *self.seg_diags,
                    self._diag(
                        "dynamic_sql",
                        "dynamic SQL given as a string literal; analysed as written",
                        pos,
                        "info",
                    ),
                )
            sub = self._sub(
                a, procedural=self.procedural or toks[a][0] == "D", plpgsql=self.plpgsql, seg_diags=seg_diags
            )
            if sub is not None:
                sub.run(process)
                return
        end = max(b, i + 1)
        snippet = " ".join(self.text[toks[i][2] : toks[min(end, self.n) - 1][3]].split())
        if len(snippet) > 120:
            snippet = snippet[:117] + "..."
        diag = self._diag("dynamic_sql", f"dynamic SQL cannot be analysed statically: {snippet}", pos)
        self._emit(i, min(end, self.n), process, sql="", diags=(diag,))
