"""Statement lists, plain statements, INTO-stripping and sub-query extraction."""

from __future__ import annotations

import re
from collections.abc import Iterator

from finlineage.lineage.model import Diagnostic
from finlineage.lineage.splitters.base import _Core
from finlineage.lineage.splitters.lexer import (
    _BACKSLASH_D,
    _INTO_END,
    _NO_STOP,
    _QUERY_START,
    _SQL_VERBS,
    _TSQL_STARTERS,
    MAX_DEPTH,
)

_DML_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE"})
_CONSTANT_WORDS = frozenset(
    [
        "NULL",
        "TRUE",
        "FALSE",
        "AND",
        "OR",
        "NOT",
        "IS",
        "IN",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "AS",
        "INTERVAL",
        "DATE",
        "TIMESTAMP",
        "SYSDATE",
        "SYSTIMESTAMP",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "LOCALTIME",
        "LOCALTIMESTAMP",
        "CURRENT_USER",
        "SESSION_USER",
        "USER",
    ]
)
"""Words of an expression that read no variable (keywords and niladic constants)."""


class _Walker(_Core):
    def run(self, process: str | None) -> None:
        i = 0
        while i < self.n:
            j = self._statements(i, _NO_STOP, process, False)
            i = max(j, i + 1) if j < self.n else j

    def _statements(
        self,
        i: int,
        stop: frozenset[str],
        process: str | None,
        in_block: bool,
        *,
        until_hard: bool = False,
        stop_create: bool = False,
    ) -> int:
        toks = self.toks
        n = self.n
        last = -1
        try:
            while i < n:
                k, v, _, _ = toks[i]
                if k == ";":
                    i += 1
                    continue
                if k == "H":
                    if in_block or until_hard:
                        return i
                    i += 1
                    continue
                if k == "W":
                    if v in stop:
                        return i
                    if stop_create and v in ("CREATE", "ALTER") and self._batch_start(i):
                        return i
                last = i
                j = self._statement(i, process, in_block)
                i = j if j > i else i + 1
            return i
        finally:
            self.tail = last

    def _top_level(self, a: int, b: int) -> Iterator[tuple[int, str, str]]:
        """(index, kind, value) of the tokens a..b-1 outside parentheses (the parentheses
        themselves left out; a ")" without its "(" is passed over)."""
        toks = self.toks
        depth = 0
        for j in range(a, b):
            k, v, _, _ = toks[j]
            if k == "P" and v == "(":
                depth += 1
            elif k == "P" and v == ")":
                depth = max(depth - 1, 0)
            elif depth == 0:
                yield j, k, v

    def _has_assign(self, i: int, end: int) -> bool:
        return any(
            k == "P" and (v == ":=" or (v == "=" and j <= i + 3)) for j, k, v in self._top_level(i, end)
        )

    def _simple(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        if end <= i:
            return max(nxt, i + 1)
        first = self._word(i)
        if first == "INSERT":
            special = self._special_insert(i, end, nxt, process)
            if special is not None:
                return special
        sql = None
        assigns: tuple[str, ...] = ()
        if first in _QUERY_START:
            got = self._without_into(i, end) if self._strip_into() else self._select_assigns(i, end)
            if got is not None:
                sql, assigns = got
        elif first in _DML_WORDS and self._strip_into():
            sql = self._without_returning_into(i, end)
        self._emit(i, end, process, sql=sql, assigns=assigns)
        if sql is not None and first in _DML_WORDS:
            self._returning_into(i, end, process)
        return nxt

    def _returning_into(self, a: int, b: int, process: str | None) -> None:
        """`INSERT|UPDATE|DELETE ... RETURNING exprs INTO v, w`: the variables take the returned
        columns of the statement's table (a bookkeeping segment `SELECT exprs FROM table`)."""
        table = self._dml_table(a, b)
        if table is None:
            return
        for j, k, v in self._top_level(a, b):
            if k == "W" and v in ("RETURNING", "RETURN") and j > a:
                into = self._find(j + 1, frozenset({"INTO"}), b)
                names = self._into_names(into + 1, b) if into > j + 1 else ()
                if names:
                    toks = self.toks
                    exprs = self.text[toks[j + 1][2] : toks[into - 1][3]]
                    sql = f"SELECT {exprs} FROM {table}"
                    self._emit(j, b, process, sql=sql, assigns=names, bookkeeping=True)
                return

    def _dml_table(self, a: int, b: int) -> str | None:
        """The table an INSERT INTO / UPDATE / DELETE FROM at a writes, as written."""
        verb = self._word(a)
        if verb not in ("INSERT", "UPDATE", "DELETE"):
            return None
        j = a + 1
        if self._word(j) == {"INSERT": "INTO", "DELETE": "FROM"}.get(verb):
            j += 1
        s = j
        name, j = self._name(j)
        if name is None or j > b:
            return None
        return self.text[self.toks[s][2] : self.toks[j - 1][3]]

    def _select_assigns(self, i: int, end: int) -> tuple[str, tuple[str, ...]] | None:
        """A dialect's `SELECT @v = expr` form: (text without the assignments, variables)."""
        return None

    def _var_name(self, j: int) -> tuple[str | None, int]:
        """A variable or record field at j (`v`, `@v`, `:v`, `rec.f`, `:NEW.f`), lower-cased."""
        if self._is_p(j, ":") and self._kind(j + 1) in ("W", "Q"):
            j += 1
        if self._kind(j) not in ("W", "Q"):
            return None, j
        parts = [self._ident(*self._kq(j)).lower()]
        j += 1
        while self._is_p(j, ".") and self._kind(j + 1) in ("W", "Q"):
            parts.append(self._ident(*self._kq(j + 1)).lower())
            j += 2
        return ".".join(parts), j

    def _kq(self, j: int) -> tuple[str, int, int]:
        k, _, s, e = self.toks[j]
        return k, s, e

    def _assignment(self, a: int, end: int, process: str | None) -> bool:
        """`name = expr` / `name := expr` / `name += expr` in tokens [a, end): a variable assigned
        from a query, or from an expression holding one (or its own prior value, compound), or a
        trigger row field (`:NEW.c := expr`), becomes a segment with `assigns`. False when the
        tokens are not such an assignment (the caller then keeps only the sub-queries)."""
        if self._is_p(a, "("):
            return self._tuple_assignment(a, end, process)
        name, j = self._var_name(a)
        if name is None or j + 1 >= end:
            return False
        toks = self.toks
        op = ""
        if self._is_p(j, ":=") or self._is_p(j, "="):
            r = j + 1
        elif (
            self._kind(j) == "P"
            and self._val(j) in "+-*/%&|^"
            and self._is_p(j + 1, "=")
            and toks[j][3] == toks[j + 1][2]
        ):
            op, r = self._val(j), j + 2
        else:
            return False
        if r >= end:
            return False
        if (
            not op
            and self._is_p(r, "(")
            and self._word(r + 1) in _QUERY_START
            and self._matching(r, end) == end - 1
        ):
            self._emit(r + 1, end - 1, process, assigns=(name,))
            return True
        head = name.split(".", 1)[0]
        row_field = "." in name and head in ("new", "old")
        has_query = any(self._is_p(t, "(") and self._word(t + 1) in _QUERY_START for t in range(r, end - 1))
        if not (row_field or has_query or op or self._reads_names(r, end)):
            # a constant: whatever the variable held is gone (a segment without SQL)
            self._emit(a, end, process, sql="", assigns=(name,))
            return True
        expr = self.text[toks[r][2] : toks[end - 1][3]]
        if op:
            single = self._is_p(r, "(") and self._matching(r, end) == end - 1
            expr = f"{self.text[toks[a][2] : toks[j - 1][3]]} {op} {expr if single else f'({expr})'}"
        self._emit(r, end, process, sql="SELECT " + expr, assigns=(name,))
        return True

    def _tuple_assignment(self, a: int, end: int, process: str | None) -> bool:
        """BigQuery `SET (a, b) = (SELECT ...)`: the variables take the query's outputs in order."""
        close = self._matching(a, end)
        names = self._into_names(a + 1, close)
        r = close + 2
        if (
            not names
            or not self._is_p(close + 1, "=")
            or not (self._is_p(r, "(") and self._word(r + 1) in _QUERY_START)
            or self._matching(r, end) != end - 1
        ):
            return False
        self._emit(r + 1, end - 1, process, assigns=names)
        return True

    def _reads_names(self, a: int, b: int) -> bool:
        """Does the expression in tokens [a, b) read a name (a variable, a record field, a
        parameter), not only literals, constants and function calls?"""
        for j in range(a, b):
            k, v, _, _ = self.toks[j]
            if k == "Q" or (k == "W" and v not in _CONSTANT_WORDS and not self._is_p(j + 1, "(")):
                return True
        return False

    def _without_into(self, a: int, b: int) -> tuple[str, tuple[str, ...]] | None:
        toks = self.toks
        start = -1
        for j, k, v in self._top_level(a, b):
            if k == "W" and v == "INTO" and j > a:
                pv = toks[j - 1][1]
                if pv in ("INSERT", "MERGE"):
                    return None
                start = j
                if pv == "COLLECT" and j - 2 > a and toks[j - 2][1] == "BULK":
                    start = j - 2
                stop = next(
                    (t for t, k2, v2 in self._top_level(j + 1, b) if k2 == "W" and v2 in _INTO_END), b
                )
                if pv in ("SELECT", "DISTINCT", "ALL"):  # PL/pgSQL `SELECT INTO v expr, ... FROM`
                    stop = min(stop, self._into_list_end(j + 1, stop))
                s0 = toks[a][2]
                cut_s = toks[start][2]
                cut_e = toks[stop][2] if stop < b else toks[b - 1][3]
                blank = re.sub(r"[^\n]", " ", self.text[cut_s:cut_e])
                text = (self.text[s0:cut_s] + blank + self.text[cut_e : toks[b - 1][3]]).rstrip()
                return text, self._into_names(j + 1, stop)
        return None

    def _without_returning_into(self, a: int, b: int) -> str | None:
        """DML text without `RETURNING ... INTO variables` (blanked, lines kept): the returned
        values go to variables of the routine, not to a table."""
        toks = self.toks
        for j, k, v in self._top_level(a, b):
            if k == "W" and v in ("RETURNING", "RETURN") and j > a:
                if self._find(j + 1, frozenset({"INTO"}), b) < 0:
                    return None
                cut = toks[j][2]
                tail = self.text[cut : toks[b - 1][3]]
                head = self._text(a, j) + self.text[toks[j - 1][3] : cut]
                return (head + re.sub(r"[^\n]", " ", tail)).rstrip()
        return None

    def _into_list_end(self, j: int, stop: int) -> int:
        """The token after the variables of an INTO list starting at j (the select list follows
        it when INTO comes first); `stop` when it cannot be told."""
        if self._word(j) == "STRICT":
            j += 1
        while j < stop:
            name, nxt = self._var_name(j)
            if name is None:
                return stop
            j = nxt
            if not self._is_p(j, ","):
                return j
            j += 1
        return stop

    def _into_names(self, j: int, stop: int) -> tuple[str, ...]:
        """The variables of an INTO list (tokens [j, stop))."""
        names: list[str] = []
        if self._word(j) == "STRICT":
            j += 1
        while j < stop:
            name, nxt = self._var_name(j)
            if name is None:
                return ()
            names.append(name)
            j = nxt
            if not self._is_p(j, ","):
                break
            j += 1
        return tuple(names)

    def _subqueries(self, a: int, b: int, process: str | None) -> None:
        toks = self.toks
        j = a
        while j < b:
            if (
                toks[j][0] == "P"
                and toks[j][1] == "("
                and j + 1 < b
                and toks[j + 1][0] == "W"
                and toks[j + 1][1] in _QUERY_START
            ):
                m = self._matching(j, b)
                self._emit(j + 1, m, process, in_expression=True)
                j = m + 1
                continue
            j += 1

    def _end(self, j: int, kinds: tuple[str, ...]) -> int:
        """Consume `END [kind] [label] [;]` at j (if present)."""
        if self._word(j) != "END":
            return j
        j += 1
        if kinds and self._word(j) in kinds:
            j += 1
        k = self._kind(j)
        if (
            k == "Q" or (k == "W" and self._val(j) not in _TSQL_STARTERS and self._val(j) not in _SQL_VERBS)
        ) and self._kind(j + 1) in (";", "H", ""):
            j += 1
        if self._kind(j) == ";":
            j += 1
        return j

    def _batch_start(self, i: int) -> bool:
        """Does a new batch-level object definition start at i (T-SQL without GO)?"""
        return False

    def _special_insert(self, i: int, end: int, nxt: int, process: str | None) -> int | None:
        """A dialect's special INSERT form (T-SQL INSERT ... EXEC); None when not one."""
        return None

    def _literal(self, j: int) -> tuple[str, int]:
        """Inner text of the string / dollar-quoted token at j and its start offset."""
        k, v, s, e = self.toks[j]
        raw = self.text[s:e]
        if k == "D":
            close = f"${v}$"
            inner_s = s + len(close)
            inner_e = e - len(close) if e - s >= 2 * len(close) and raw.endswith(close) else e
            return self.text[inner_s:inner_e], inner_s
        q = 0
        while q < len(raw) and raw[q] not in "'\"":
            q += 1
        quote = raw[q : q + 3] if raw[q : q + 3] in ("'''", '"""') else raw[q : q + 1]
        body = raw[q + len(quote) :]
        if body.endswith(quote):
            body = body[: -len(quote)]
        if len(quote) == 1:
            body = body.replace(quote * 2, quote)
            if self.p.name in _BACKSLASH_D or raw[:q].lower() == "e":
                body = body.replace("\\" + quote, quote).replace("\\\\", "\\")
        return body, s + q + len(quote)

    def _sub(
        self, j: int, *, procedural: bool, plpgsql: bool, seg_diags: tuple[Diagnostic, ...]
    ) -> _Walker | None:
        if self.depth >= MAX_DEPTH:
            self.acc.diagnostics.append(
                self._diag(
                    "too_deep",
                    "routine bodies / dynamic SQL nested too deeply; not analysed",
                    self.toks[j][2],
                )
            )
            return None
        inner, start = self._literal(j)
        return self._sub_text(inner, start, procedural=procedural, plpgsql=plpgsql, seg_diags=seg_diags)

    def _sub_text(
        self, inner: str, start: int, *, procedural: bool, plpgsql: bool, seg_diags: tuple[Diagnostic, ...]
    ) -> _Walker:
        """A splitter over `inner`, text that starts at offset `start` of this one."""
        return type(self)(
            inner,
            self.p,
            self.acc,
            line_base=self._line(start) - 1,
            col_base=self._column(start) - 1,
            procedural=procedural,
            plpgsql=plpgsql,
            depth=self.depth + 1,
            seg_diags=seg_diags,
        )
