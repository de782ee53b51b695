"""Calls (EXEC, CALL, PERFORM), RETURN, OPEN ... FOR and dynamic SQL."""

from __future__ import annotations

import re
from dataclasses import replace

from finlineage.lineage.splitters.lexer import _QUERY_START, MAX_DEPTH, is_builtin_routine
from finlineage.lineage.splitters.walker import _Walker


class _Calls(_Walker):
    def _exec(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._exec_end(i, in_block)
        j = i + 1
        if self._word(j) == "IMMEDIATE":
            self._dynamic(i, j + 1, end, process)
            return nxt
        if self._word(j) in ("AS", "TASK"):
            return nxt  # EXECUTE AS user / Snowflake EXECUTE TASK
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
        self._bind_args(name, after, end, process)
        return nxt

    def _call(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        name, after = self._name(i + 1)
        if name is not None:
            self._emit(i, end, process, sql="", calls=(name,))
            self._call_args(name, after, end, process)
        return nxt

    def _call_args(self, name: str, lp: int, end: int, process: str | None) -> None:
        """The arguments of a call `name(a, p => b)` whose "(" is at lp (see `_bind_args`)."""
        if not self._is_p(lp, "(") or self._matching(lp, end) != end - 1 or lp + 2 >= end:
            return
        self._bind_args(name, lp + 1, end - 1, process)

    def _bind_args(self, name: str, a: int, b: int, process: str | None) -> None:
        """The arguments in tokens [a, b) of a call of `name`, positional (`x`) or named (`p => x`,
        `p := x`, T-SQL `@p = x`): a bookkeeping segment `SELECT x, ...` (source: the routine)
        whose outputs the routine's parameters take, `#arg<n>` by position and `#arg=<p>` by
        name. Arguments that read no name (constants, DEFAULT) pass nothing and are left out;
        T-SQL `OUTPUT` marks and `WITH RECOMPILE | RESULT SETS` options are no arguments."""
        items: list[tuple[int, int]] = []
        start = a
        for j, k, v in self._top_level(a, b):
            if k == "W" and v == "WITH" and self._keyword_ends():
                b = j
                break
            if k == "P" and v == ",":
                items.append((start, j))
                start = j + 1
        if start < b:
            items.append((start, b))
        exprs: list[str] = []
        names: list[str] = []
        toks = self.toks
        for n, (s, e) in enumerate(items):
            while e > s and self._word(e - 1) in ("OUTPUT", "OUT", "READONLY"):
                e -= 1
            param = ""
            if self._kind(s) in ("W", "Q") and self._is_p(s + 1, "=") and self._is_p(s + 2, ">"):
                param, s = self._param_name(s), s + 3
            elif self._kind(s) in ("W", "Q") and self._is_p(s + 1, ":="):
                param, s = self._param_name(s), s + 2
            elif self._word(s).startswith("@") and self._is_p(s + 1, "=") and self._keyword_ends():
                param, s = self._val(s).lower(), s + 2
            if s >= e or (e == s + 1 and self._word(s) == "DEFAULT") or not self._reads_names(s, e):
                continue
            exprs.append(self.text[toks[s][2] : toks[e - 1][3]])
            names.append(f"#arg={param}" if param else f"#arg{n}")
        if names:
            sql = "SELECT " + ", ".join(exprs)
            self._emit(a, b, process, sql=sql, assigns=tuple(names), source=name, bookkeeping=True)

    def _param_name(self, j: int) -> str:
        """A parameter name as `variables.parameters` spells it (lower case unless quoted in
        mixed case)."""
        name = self._ident(*self._kq(j))
        return name.lower() if self._kind(j) == "W" or name == name.upper() else name

    def _perform(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        name, after = self._name(i + 1)
        is_call = name is not None and self._is_p(after, "(")
        if is_call and self._matching(after, end) == end - 1:
            self._emit(i, end, process, sql="", calls=(name,) if name else ())
            self._subqueries(after, end, process)  # the tables its arguments read
            if name is not None and not is_builtin_routine(name):
                self._call_args(name, after, end, process)
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
            if self._word(j) == "EXECUTE":  # the dynamic query's rows are the function's result
                self._dynamic(i, j + 1, end, process, returns=True)
            else:
                self._emit(j, end, process, returns=True)
        elif self._word(j) == "NEXT":  # PL/pgSQL: one more row of the result (OUT columns or a record)
            record, after = self._var_name(j + 1)
            source = record if record is not None and after == end else ""
            self._emit(i, end, process, sql="", returns=True, source=source)
            if not source:
                self._subqueries(j + 1, end, process)
        elif self._word(j) in _QUERY_START:  # a function's result set (an inline table function)
            self._emit(j, end, process, returns=self.routine_kind == "function")
        elif (
            self.routine_kind == "function"
            and self._is_p(j, "(")
            and self._word(j + 1) in _QUERY_START
            and self._matching(j, end) == end - 1
        ):
            self._emit(j + 1, end - 1, process, returns=True)
        else:
            self._subqueries(j, end, process)
        return nxt

    def _open(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        f = self._find(i + 1, frozenset({"FOR"}), end)
        if f > 0:
            q = f + 1
            cursor, after = self._var_name(i + 1)
            if self._word(q) in _QUERY_START:  # `OPEN c FOR SELECT ...`: c holds its rows
                self._emit(q, end, process, assigns=(f"{cursor}.*",) if cursor and after == f else ())
            elif self._word(q) == "EXECUTE":
                self._dynamic(i, q + 1, end, process)
            elif q < end:
                self._dynamic(i, q, end, process)
        return nxt

    def _fetch(self, i: int, end: int, process: str | None) -> None:
        """`FETCH [NEXT FROM] c [BULK COLLECT] INTO a, b | rec`: the variables receive the cursor's
        row (a segment without SQL whose `source` is the cursor)."""
        into = self._find(i + 1, frozenset({"INTO"}), end)
        if into < 0:
            return
        c = into - 1
        if self._word(c) == "COLLECT" and self._word(c - 1) == "BULK":
            c -= 2
        t = c
        while t - 2 > i and self._is_p(t - 1, ".") and self._kind(t - 2) in ("W", "Q"):
            t -= 2
        cursor, after = self._var_name(t)
        names = self._into_names(into + 1, end)
        if cursor is not None and after == c + 1 and names:
            self._emit(i, end, process, sql="", assigns=names, source=cursor)

    def _dynamic(
        self,
        i: int,
        a: int,
        b: int,
        process: str | None,
        assigns: tuple[str, ...] = (),
        returns: bool = False,
    ) -> None:
        """Dynamic SQL whose text is tokens [a, b): analysed when it is a literal, a
        concatenation of literals or `format(literal, literal args)`, else a warning. A query
        whose rows go somewhere (`FOR r IN EXECUTE`: `assigns`; `RETURN QUERY EXECUTE`:
        `returns`) is marked so when the text is that one query."""
        into = next((t for t in range(a + 1, b) if self._word(t) == "INTO"), -1)
        if into > 0 and not assigns:  # Oracle `EXECUTE IMMEDIATE '<query>' INTO v, w [USING ...]`
            using = next((t for t in range(into, b) if self._word(t) == "USING"), b)
            assigns = self._into_names(into + 1, using)
        first = len(self.acc.segments)
        self._dynamic_text(i, a, b, process)
        added = self.acc.segments[first:]
        if (assigns or returns) and len(added) == 1 and _QUERY_TEXT.match(added[0].sql):
            self.acc.segments[first] = replace(added[0], assigns=assigns, returns=returns)

    def _dynamic_text(self, i: int, a: int, b: int, process: str | None) -> None:
        toks = self.toks
        pos = toks[i][2]
        stop = b
        for t in range(a, b):
            if self._word(t) in ("USING", "INTO") and t > a:
                stop = t
                break
        if a < stop and toks[a][0] == "D" and a + 1 == stop:
            sub = self._sub(a, procedural=True, plpgsql=self.plpgsql, seg_diags=self.seg_diags)
            if sub is not None:
                sub.run(process)
            return
        found = self._constant_text(a, stop)
        if found is None:
            name, after = self._var_name(a)
            held = self.literals.get((process, name)) if name is not None and after == stop else None
            if held is not None:
                found = (held[0], held[1], f"a constant held by {name}")
        if found is not None and self.depth < MAX_DEPTH:
            inner, start, how = found
            using = next((t for t in range(stop, b) if self._word(t) == "USING"), -1)
            if using > 0:
                inner = bind_placeholders(inner, self._using_args(using + 1, b))
            seg_diags = (
                *self.seg_diags,
                self._diag("dynamic_sql", f"dynamic SQL given as {how}; analysed as written", pos, "info"),
            )
            sub = self._sub_text(
                inner, start, procedural=self.procedural, plpgsql=self.plpgsql, seg_diags=seg_diags
            )
            sub.run(process)
            return
        end = max(b, i + 1)
        snippet = " ".join(self.text[toks[i][2] : toks[min(end, self.n) - 1][3]].split())
        if len(snippet) > 120:
            snippet = snippet[:117] + "..."
        diag = self._diag("dynamic_sql", f"dynamic SQL cannot be analysed statically: {snippet}", pos)
        self._emit(i, min(end, self.n), process, sql="", diags=(diag,))

    def _using_args(self, a: int, b: int) -> list[tuple[str, str | None]]:
        """The bind arguments of `USING a, IN OUT b, c AS name` (tokens [a, b), up to INTO or
        RETURNING): (text on one line, the name it binds or None), in order."""
        args: list[tuple[str, str | None]] = []
        if self._is_p(a, "(") and self._matching(a, b) + 1 >= b:  # Snowflake `USING (a, b)`
            a, b = a + 1, self._matching(a, b)
        j = a
        while j < b and self._word(j) not in ("INTO", "RETURNING", "RETURN"):
            while self._word(j) in ("IN", "OUT"):
                j += 1
            first = j
            while j < b and not self._is_p(j, ",") and self._word(j) not in ("INTO", "RETURNING", "RETURN"):
                j = self._matching(j, b) + 1 if self._is_p(j, "(") else j + 1
            last, name = j, None
            if last - first >= 3 and self._word(last - 2) == "AS":  # BigQuery `expr AS name`
                name, last = self._val(last - 1).lower(), last - 2
            if last > first:
                text = " ".join(self.text[self.toks[first][2] : self.toks[last - 1][3]].split())
                args.append((text, name))
            if self._is_p(j, ","):
                j += 1
        return args

    def _remember_literal(self, a: int, end: int, process: str | None) -> None:
        """`name = <constant string>` (SET, :=, DECLARE ... = / DEFAULT): remember it for dynamic
        SQL that executes the variable; any other assignment forgets what it held."""
        name, j = self._var_name(a)
        if name is None:
            return
        while j < end and not (self._is_p(j, "=") or self._is_p(j, ":=") or self._word(j) == "DEFAULT"):
            if self._kind(j) in (";", "H"):
                return
            j = self._matching(j, end) + 1 if self._is_p(j, "(") else j + 1  # NVARCHAR(MAX), ...
        if j >= end:
            return
        found = self._constant_text(j + 1, end)
        if found is None:
            self.literals.pop((process, name), None)
        else:
            self.literals[(process, name)] = found

    def _constant_text(self, a: int, b: int) -> tuple[str, int, str] | None:
        """(text, offset of its first character, how it was written) of a constant string
        expression in tokens [a, b): a literal, literals joined by `+` / `||`, or
        `format(literal[, literal ...])` with %s/%I/%L filled from literal arguments."""
        while self._is_p(a, "(") and self._matching(a, b) == b - 1:
            a, b = a + 1, b - 1
        if a >= b:
            return None
        if self._word(a) == "FORMAT" and self._is_p(a + 1, "(") and self._matching(a + 1, b) == b - 1:
            return self._format(a + 2, b - 1)
        pieces: list[str] = []
        first = -1
        prev_end = -1
        j = a
        while j < b:
            if self._kind(j) != "S":
                return None
            inner, start = self._literal(j)
            if first < 0:
                first = start
            else:  # keep the line structure: as many line breaks as between the literals
                pieces.append("\n" * self.text.count("\n", prev_end, start))
            pieces.append(inner)
            prev_end = self.toks[j][3]
            j += 1
            if j == b:
                break
            if self._is_p(j, "+"):
                j += 1
            elif self._is_p(j, "|") and self._is_p(j + 1, "|"):
                j += 2
            else:
                return None
        how = "a string literal" if len(pieces) == 1 else "a concatenation of literals"
        return "".join(pieces), first, how

    def _format(self, a: int, b: int) -> tuple[str, int, str] | None:
        """`format(template, args)` with a literal template and literal (or no) arguments."""
        args: list[tuple[int, int]] = []
        depth = 0
        start = a
        for j in range(a, b):
            if self._is_p(j, "("):
                depth += 1
            elif self._is_p(j, ")"):
                depth -= 1
            elif self._is_p(j, ",") and depth == 0:
                args.append((start, j))
                start = j + 1
        args.append((start, b))
        if args[0][1] - args[0][0] != 1 or self._kind(args[0][0]) not in ("S", "D"):
            return None
        template, offset = self._literal(args[0][0])
        values: list[str] = []
        for x, y in args[1:]:
            if y - x != 1 or self._kind(x) not in ("S", "N"):
                return None
            values.append(
                self._literal(x)[0] if self._kind(x) == "S" else self.text[self.toks[x][2] : self.toks[x][3]]
            )
        out: list[str] = []
        k = 0
        i = 0
        while i < len(template):
            ch = template[i]
            if ch == "%" and i + 1 < len(template):
                spec = template[i + 1]
                if spec == "%":
                    out.append("%")
                elif k < len(values):
                    value = values[k]
                    out.append("'" + value.replace("'", "''") + "'" if spec == "L" else value)
                    k += 1
                else:
                    return None
                i += 2
                continue
            out.append(ch)
            i += 1
        return "".join(out), offset, "format() of literals"


_QUERY_TEXT = re.compile(r"\s*\(?\s*(?:SELECT|WITH|VALUES|TABLE)\b", re.I)
_PLACEHOLDER = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|(?<![\w:$@])(?:\$(\d+)|:(\d+)|:([A-Za-z_]\w*)|\?|@([A-Za-z_]\w*))"
)
"""String literals and quoted names (kept), else a bind placeholder: $n, :n, :name, ?, @name."""


def bind_placeholders(sql: str, args: list[tuple[str, str | None]]) -> str:
    """Dynamic SQL with its placeholders replaced by the USING arguments they bind (`$n` / `:n`
    the n-th, `@name` the argument bound AS name, else the next by position, as Oracle binds
    `:name` and `?`), so what the arguments hold flows into the statement; a placeholder without
    an argument is left as written."""
    if not args:
        return sql
    named = {n: text for text, n in args if n}
    at = 0

    def one(m: re.Match[str]) -> str:
        nonlocal at
        whole = m.group(0)
        if whole[0] in "'\"":
            return whole
        number = m.group(1) or m.group(2)
        if number is not None:
            k = int(number) - 1
            return f"({args[k][0]})" if 0 <= k < len(args) else whole
        if m.group(4) is not None and m.group(4).lower() in named:
            return f"({named[m.group(4).lower()]})"
        if at >= len(args):
            return whole
        at += 1
        return f"({args[at - 1][0]})"

    return _PLACEHOLDER.sub(one, sql)
