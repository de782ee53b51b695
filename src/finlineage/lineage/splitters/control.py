"""Control flow (BEGIN/END, IF, loops, CASE, exception handlers) and declaration sections."""

from __future__ import annotations

from dataclasses import replace

from finlineage.lineage.model import ObjectKind
from finlineage.lineage.splitters.base import ANONYMOUS_BLOCK
from finlineage.lineage.splitters.calls import _Calls
from finlineage.lineage.splitters.lexer import (
    _BLOCK_STOP,
    _CASE_STOP,
    _END_ONLY,
    _HANDLER_STOP,
    _IF_STOP,
    _QUERY_START,
    _REPEAT_STOP,
    _TXN_WORDS,
    MAX_NEST,
)

_NOT_VARIABLES = frozenset({"TYPE", "SUBTYPE", "PRAGMA", "CURSOR"})
"""First words of package-level declarations that declare no variable."""


class _Control(_Calls):
    def _begin(self, i: int, process: str | None, in_block: bool, *, force_block: bool = False) -> int:
        j = i + 1
        nv = self._val(j)
        nk = self._kind(j)
        if not force_block and (j >= self.n or nk in (";", "H") or (nk == "W" and nv in _TXN_WORDS)):
            return self._skip(i, in_block)
        if nv == "ATOMIC":
            j += 1
        elif nv == "NOT" and self._word(j + 1) == "ATOMIC":
            j += 2
        proc = process if process is not None else ANONYMOUS_BLOCK
        first_segment, first_close = len(self.acc.segments), len(self.acc.closes)
        j = self._statements(j, _BLOCK_STOP, proc, True)
        if self._word(j) == "EXCEPTION":  # the body and each handler are the block's arms
            arms = [self._as_arm(first_segment, first_close, self.tail)]
            j = self._handlers(j + 1, proc, arms)
            if arms[-1] >= 0:
                self._close(arms)
        return self._end(j, ())

    def _close(self, arms: list[int]) -> None:
        """The construct whose arms (conditional regions) are `arms`, one of which always runs,
        ends here (see `SplitResult.closes`); arms that never reach its end are left out."""
        live = tuple(a for a in arms if a not in self.acc.dead_arms)
        self.acc.closes.append((len(self.acc.segments), self.acc.branch, live))

    def _leaves(self, t: int) -> bool:
        """Does the statement starting at token t leave the enclosing construct other than by
        its end (an error raised, a return)? Then the arm it ends needs not assign anything."""
        w = self._word(t)
        if w == "RAISE":
            return self._word(t + 1) not in ("NOTICE", "WARNING", "INFO", "LOG", "DEBUG")
        if w == "RETURN":
            return self._word(t + 1) not in ("NEXT", "QUERY")
        return w in ("THROW", "RAISE_APPLICATION_ERROR", "SIGNAL", "RESIGNAL")

    def _mark_arm(self, arm: int, tail: int) -> None:
        if tail >= 0 and self._leaves(tail):
            self.acc.dead_arms.add(arm)

    def _as_arm(self, first_segment: int, first_close: int, tail: int) -> int:
        """Make the statements split since segment `first_segment` (and the constructs closed
        since `first_close`; the last statement starting at token `tail`) a new conditional
        region of the current one; returns its number."""
        acc = self.acc
        acc.branches += 1
        arm = acc.branches
        self._mark_arm(arm, tail)
        d = len(acc.branch)
        for k in range(first_segment, len(acc.segments)):
            seg = acc.segments[k]
            acc.segments[k] = replace(seg, branch=(*seg.branch[:d], arm, *seg.branch[d:]))
        for k in range(first_close, len(acc.closes)):
            at, enclosing, arms = acc.closes[k]
            acc.closes[k] = (at, (*enclosing[:d], arm, *enclosing[d:]), arms)
        return arm

    def _handlers(self, j: int, process: str | None, arms: list[int]) -> int:
        """The handlers of an EXCEPTION section, each an arm added to `arms` (-1 added when
        one cannot be read)."""
        while self._word(j) == "WHEN":
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                arms.append(-1)
                return self._skip(j, True)
            j, arm = self._arm(t + 1, _HANDLER_STOP, process)
            arms.append(arm)
        return j

    def _arm(self, i: int, stop: frozenset[str], process: str | None) -> tuple[int, int]:
        """The statements of one conditional region (a branch, a loop body, a handler): where
        they end, and the region's number."""
        saved = self._enter_branch()
        arm = self.acc.branch[-1]
        try:
            j = self._statements(i, stop, process, True)
            self._mark_arm(arm, self.tail)
            return j, arm
        finally:
            self._leave_branch(saved)

    def _branch(self, i: int, stop: frozenset[str], process: str | None) -> int:
        return self._arm(i, stop, process)[0]

    def _if(self, i: int, process: str | None, in_block: bool) -> int:
        t = self._find(i + 1, frozenset({"THEN"}))
        if t < 0:
            return self._simple(i, process, in_block)
        self._subqueries(i + 1, t, process)
        j, arm = self._arm(t + 1, _IF_STOP, process)
        arms = [arm]
        while self._word(j) in ("ELSIF", "ELSEIF"):
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                return self._skip(j, True)
            self._subqueries(j + 1, t, process)
            j, arm = self._arm(t + 1, _IF_STOP, process)
            arms.append(arm)
        if self._word(j) == "ELSE":
            j, arm = self._arm(j + 1, _END_ONLY, process)
            self._close([*arms, arm])
        return self._end(j, ("IF",))

    def _while(self, i: int, process: str | None, in_block: bool) -> int:
        d = self._find(i + 1, frozenset({"DO", "LOOP"}))
        if d < 0:
            return self._skip(i, in_block)
        self._subqueries(i + 1, d, process)
        j = self._branch(d + 1, _END_ONLY, process)
        return self._end(j, ("WHILE", "LOOP"))

    def _repeat(self, i: int, process: str | None) -> int:
        j = self._branch(i + 1, _REPEAT_STOP, process)
        if self._word(j) == "UNTIL":
            e = self._find(j + 1, _END_ONLY)
            if e < 0:
                return self._skip(j, True)
            self._subqueries(j + 1, e, process)
            j = e
        return self._end(j, ("REPEAT",))

    def _for(self, i: int, process: str | None, in_block: bool) -> int:
        inn = self._find(i + 1, frozenset({"IN"}))
        lp = self._find(inn + 1, frozenset({"LOOP", "DO"})) if inn > 0 else -1
        if lp < 0:
            return self._simple(i, process, in_block)
        r = inn + 1
        if self._word(r) == "REVERSE":
            r += 1
        var, after = self._var_name(i + 1)
        row = (f"{var}.*",) if var is not None and after == inn else ()  # the loop's record
        if self._word(r) in _QUERY_START:
            self._emit(r, lp, process, assigns=row)
        elif self._is_p(r, "(") and self._word(r + 1) in _QUERY_START:
            self._emit(r + 1, self._matching(r, lp), process, assigns=row)
        elif self._word(r) == "EXECUTE":  # FOR r IN EXECUTE '<query>': the record takes its rows
            self._dynamic(i, r + 1, lp, process, assigns=row)
        elif row:  # FOR r IN cursor[(args)] LOOP: the record takes the cursor's rows
            cursor, c_end = self._var_name(r)
            if cursor is not None and (c_end == lp or self._matching(c_end, lp) == lp - 1):
                self._emit(r, lp, process, sql="", assigns=row, source=cursor)
        j = self._branch(lp + 1, _END_ONLY, process)
        return self._end(j, ("LOOP", "FOR"))

    def _case(self, i: int, process: str | None, in_block: bool) -> int:
        j = self._find(i + 1, frozenset({"WHEN"}))
        if j < 0:
            return self._simple(i, process, in_block)
        arms: list[int] = []
        while self._word(j) == "WHEN":
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                return self._skip(j, True)
            self._subqueries(j + 1, t, process)
            j, arm = self._arm(t + 1, _CASE_STOP, process)
            arms.append(arm)
        if self._word(j) == "ELSE":
            j, arm = self._arm(j + 1, _END_ONLY, process)
            self._close([*arms, arm])
        elif self._case_without_else_raises():
            self._close(arms)
        return self._end(j, ("CASE",))

    def _declare(self, i: int, process: str | None, in_block: bool) -> int:
        if self._declare_sections():
            proc = process if process is not None else ANONYMOUS_BLOCK
            return self._section(i + 1, proc, None)
        end, nxt = self._scan(i, in_block)
        self._declaration(i + 1, end, process)
        return nxt

    def _declaration(self, a: int, end: int, process: str | None) -> None:
        """One declaration: a cursor query becomes a segment; sub-queries of initialisers too."""
        c = self._find(a, frozenset({"CURSOR"}), end)
        if c >= 0:
            f = self._find(c + 1, frozenset({"FOR", "IS"}), end)
            # `CURSOR c IS|FOR` (PL/SQL, MySQL) or `c CURSOR FOR` (T-SQL, PL/pgSQL): its row
            name, _ = self._var_name(c + 1 if c == a else a)
            row = (f"{name}.*",) if name is not None else ()
            if f > 0:
                q = f + 1
                if self._is_p(q, "(") and self._word(q + 1) in _QUERY_START:
                    self._emit(q + 1, self._matching(q, end), process, assigns=row)
                    return
                if self._word(q) in _QUERY_START:
                    cut = self._find(q + 1, frozenset({"FOR"}), end)
                    qend = cut if cut > 0 and self._word(cut + 1) in ("UPDATE", "READ") else end
                    self._emit(q, qend, process, assigns=row)
                    return
                held, after = self._var_name(q)
                if held is not None and after == end and row:  # Snowflake `c CURSOR FOR rs`
                    self._emit(q, end, process, sql="", assigns=row, source=held.lstrip(":"))
                    return
        for x, y in self._declarators(a, end):
            self._remember_literal(x, y, process)
            if not self._initialiser(x, y, process):
                self._subqueries(x, y, process)

    def _declarators(self, a: int, end: int) -> list[tuple[int, int]]:
        """Token ranges of the comma-separated declarators in [a, end)."""
        parts: list[tuple[int, int]] = []
        depth = 0
        start = a
        for j in range(a, end):
            if self._is_p(j, "("):
                depth += 1
            elif self._is_p(j, ")") and depth:
                depth -= 1
            elif self._is_p(j, ",") and depth == 0:
                parts.append((start, j))
                start = j + 1
        parts.append((start, end))
        return parts

    def _initialiser(self, a: int, end: int, process: str | None) -> bool:
        """`name type = | := | DEFAULT <query or expression with a query>`: the variable gets the
        value (a segment with `assigns`). False when the declarator has no such initialiser."""
        name, j = self._var_name(a)
        if name is None:
            return False
        depth = 0
        for t in range(j, end):
            if self._is_p(t, "("):
                depth += 1
            elif self._is_p(t, ")") and depth:
                depth -= 1
            elif depth == 0 and (self._is_p(t, "=") or self._is_p(t, ":=") or self._word(t) == "DEFAULT"):
                r = t + 1
                if r >= end:
                    return False
                if (
                    self._is_p(r, "(")
                    and self._word(r + 1) in _QUERY_START
                    and self._matching(r, end) == end - 1
                ):  # a RESULTSET holds rows: a record of the query's columns
                    target = f"{name}.*" if self._word(j) == "RESULTSET" else name
                    self._emit(r + 1, end - 1, process, assigns=(target,))
                    return True
                if any(self._is_p(x, "(") and self._word(x + 1) in _QUERY_START for x in range(r, end - 1)):
                    toks = self.toks
                    sql = "SELECT " + self.text[toks[r][2] : toks[end - 1][3]]
                    self._emit(r, end, process, sql=sql, assigns=(name,))
                    return True
                return False
        return False

    def _section(self, j: int, process: str | None, container: str | None) -> int:
        """Declaration section (PL/SQL, PL/pgSQL, Snowflake) up to and including its BEGIN...END."""
        n = self.n
        while j < n:
            k, v, _, _ = self.toks[j]
            if k == ";":
                j += 1
                continue
            if k == "H":
                return j
            if k == "W":
                if v == "BEGIN":
                    return self._begin(j, process, True, force_block=True)
                if v == "END":
                    return self._end(j, ())
                if v in ("PROCEDURE", "FUNCTION"):
                    j = self._subprogram(j, process, container)
                    continue
                if v == "CREATE":
                    return j
            end, nxt = self._scan(j, False)
            if container is not None and self._word(j) not in _NOT_VARIABLES:
                name, _ = self._var_name(j)
                if name is not None:
                    self.acc.package_vars.setdefault(container, []).append(name)
            elif container is not None and self._word(j) == "CURSOR":  # its rows, shared too
                name, _ = self._var_name(j + 1)
                if name is not None:
                    self.acc.package_vars.setdefault(container, []).append(name)
            self._declaration(j, end, process)
            j = max(nxt, j + 1)
        return j

    def _subprogram(self, j: int, process: str | None, container: str | None) -> int:
        kind: ObjectKind = "function" if self._word(j) == "FUNCTION" else "procedure"
        name, after = self._name(j + 1)
        if name is None:
            return self._skip(j, False)
        t = self._find(after, frozenset({"IS", "AS"}))
        if t < 0:  # forward declaration
            return self._skip(j, False)
        if self._word(t + 1) in ("LANGUAGE", "EXTERNAL"):
            return self._skip(j, False)
        full = f"{container}.{name.split('.')[-1]}" if container else None
        if self.acc.nest >= MAX_NEST:
            return self._skip(j, False)
        self.acc.nest += 1
        try:
            k = self._section(t + 1, full or process, None)
        finally:
            self.acc.nest -= 1
        if full:
            self._record(j, k, full, kind, False)
        return k
