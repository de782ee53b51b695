"""Routine definitions: CREATE PROCEDURE/FUNCTION/TRIGGER/PACKAGE, their bodies, DO blocks."""

from __future__ import annotations

from dataclasses import replace

from finlineage.lineage.model import ObjectKind
from finlineage.lineage.splitters.base import ANONYMOUS_BLOCK
from finlineage.lineage.splitters.control import _Control
from finlineage.lineage.splitters.lexer import (
    _QUERY_START,
    _ROUTINE_MODS,
    _ROUTINE_WORDS,
)

_TIMING_WORDS = frozenset({"BEFORE", "AFTER", "INSTEAD", "OF", "EACH", "ROW", "STATEMENT"})


class _Routines(_Control):
    def _create(self, i: int, process: str | None, in_block: bool) -> int:
        if self._word(i) == "ALTER" and not self._alter_defines_routines():
            return self._simple(i, process, in_block)
        j = i + 1
        if self._word(j) == "OR" and self._word(j + 1) in ("REPLACE", "ALTER"):
            j += 2
        temporary = False
        definer = False
        limit = min(self.n, j + 12)
        word = ""
        while j < limit:
            v = self._val(j)
            if self._kind(j) == "W" and v in _ROUTINE_WORDS:
                word = v
                break
            if v == "TABLE" and self._word(j + 1) == "FUNCTION":
                j += 1
                word = "FUNCTION"
                break
            if self._kind(j) == "W" and v in _ROUTINE_MODS:
                temporary = temporary or v in ("TEMP", "TEMPORARY")
                definer = definer or v == "DEFINER"
                j += 1
                continue
            if definer and self._kind(j) not in (";", "H"):
                j += 1
                continue
            break
        if not word:
            return self._simple(i, process, in_block)
        kind = _ROUTINE_WORDS[word]
        is_package = word == "PACKAGE"
        j += 1
        if is_package and self._word(j) == "BODY":
            j += 1
        if self._word(j) == "IF" and self._word(j + 1) == "NOT" and self._word(j + 2) == "EXISTS":
            j += 3
        name, after = self._name(j)
        if name is None:
            return self._simple(i, process, in_block)
        temporary = temporary or name.startswith("#")
        body, at, lang = self._routine_body(after, kind)
        self.routine_kind = kind
        try:
            end = self._routine(i, body, at, lang, name, kind, is_package, process)
        finally:
            self.routine_kind = None
        if not is_package:
            self._record(i, end, name, kind, temporary)
        return end

    def _routine_body(self, h: int, kind: ObjectKind) -> tuple[str, int, str | None]:
        """Find where a routine's body starts: (body kind, index, language)."""
        toks = self.toks
        depth = 0
        closed = False
        seen_row = False
        lang: str | None = None
        prev = ""
        while h < self.n:
            k, v, _, _ = toks[h]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")" and depth:
                    depth -= 1
                    closed = closed or depth == 0
            elif k in (";", "H"):
                if depth == 0:
                    break
            elif depth == 0 and k == "W":
                if v == "COMPOUND" and kind == "trigger" and self._word(h + 1) == "TRIGGER":
                    return "compound", h + 2, lang
                if v == "LANGUAGE" and h + 1 < self.n:
                    lang = self._lang(h + 1)
                elif v in ("AS", "IS"):
                    skip = (
                        prev == "EXECUTE"
                        or prev.startswith("@")
                        or (v == "IS" and not self._plsql_forms())
                        or (kind == "trigger" and prev in ("NEW", "OLD", "PARENT"))
                    )
                    if not skip:
                        return "as", h + 1, lang
                elif v == "BEGIN" and self._begin_opens_body():
                    return "block", h, lang
                elif v == "DECLARE" and kind == "trigger" and self._begin_opens_body():
                    return "section", h + 1, lang
                elif v == "EXECUTE" and kind == "trigger" and self._word(h + 1) in ("FUNCTION", "PROCEDURE"):
                    return "pgtrigger", h + 2, lang
                elif v == "RETURN" and self._return_opens_body():
                    return "stmt", h, lang
                elif v == "ROW":
                    seen_row = True
                elif self._statement_opens_body(h, kind, seen_row, closed):
                    return "stmt", h, lang
            prev = v
            h += 1
        return "none", h, lang

    def _lang(self, j: int) -> str:
        k, v, s, e = self.toks[j]
        if k == "W":
            return v.lower()
        return self.text[s:e].strip("'\"`").lower()

    def _routine(
        self,
        i: int,
        body: str,
        at: int,
        lang: str | None,
        name: str,
        kind: ObjectKind,
        is_package: bool,
        process: str | None,
    ) -> int:
        if body == "as":
            return self._as_body(at, lang, name, is_package)
        if body == "compound":
            return self._compound(at, name)
        if body == "block":
            mark = len(self.acc.segments)
            end = self._begin(at, name, True, force_block=True)
            if lang == "sql" or self._word(at + 1) == "ATOMIC":  # SQL-standard body
                self._sql_result(mark, name)
            return end
        if body == "section":
            return self._section(at, name, None)
        if body == "stmt":
            return self._statement(at, name, True)
        if body == "pgtrigger":
            end, nxt = self._scan(at, False)
            fn, _ = self._name(at)
            if fn is not None:
                self._emit(i, end, name, sql="", calls=(fn,))
            return nxt
        return (
            self._skip(at, False)
            if at < self.n and self._kind(at) not in (";", "H")
            else self._scan(i, False)[1]
        )

    def _as_body(self, at: int, lang: str | None, name: str, is_package: bool) -> int:
        """A routine body after `AS|IS` at token `at`: a string, a query, a block or a PL/SQL
        declaration section (a package's, when `is_package`)."""
        nk = self._kind(at)
        nv = self._val(at)
        if nk in ("S", "D"):
            end, nxt = self._scan(at, False)
            for t in range(at + 1, end):
                if self._word(t) == "LANGUAGE" and t + 1 < end:
                    lang = self._lang(t + 1)
            self._string_body(at, name, lang)
            return nxt
        if nk == "W" and nv in _QUERY_START:
            return self._simple(at, name, False)
        if self._is_p(at, "("):
            end, nxt = self._scan(at, False)
            if self._word(at + 1) in _QUERY_START:
                self._emit(at + 1, self._matching(at, end), name)
            else:
                self._subqueries(at, end, name)
            return nxt
        if nk == "W" and nv in ("LANGUAGE", "EXTERNAL"):
            return self._skip(at, False)
        if nk == "W" and nv == "BEGIN":
            return self._begin(at, name, True, force_block=True)
        return self._section(at, name, name if is_package else None)

    def _compound(self, j: int, name: str) -> int:
        """Oracle compound trigger: declarations, then timing-point sections
        (`BEFORE EACH ROW IS BEGIN ... END BEFORE EACH ROW;`) up to `END [name];`."""
        while j < self.n:
            k, v, _, _ = self.toks[j]
            if k == ";":
                j += 1
                continue
            if k == "H":
                return j
            if v == "END":
                return self._end(j, ())
            if v in ("BEFORE", "AFTER", "INSTEAD"):
                t = self._find(j + 1, frozenset({"IS"}))
                if t < 0 or self._word(t + 1) != "BEGIN":
                    return self._skip(j, False)
                j = self._begin(t + 1, name, True, force_block=True)
                while j < self.n and self._kind(j) == "W" and self._val(j) in _TIMING_WORDS:
                    j += 1  # END <timing point>
                continue
            if v in ("PROCEDURE", "FUNCTION"):
                j = self._subprogram(j, name, None)
                continue
            end, nxt = self._scan(j, False)
            self._declaration(j, end, name)
            j = max(nxt, j + 1)
        return j

    def _string_body(self, j: int, name: str, lang: str | None) -> None:
        if lang is None:
            lang = self._body_language(j)
        if lang not in ("sql", "plpgsql"):
            self.acc.diagnostics.append(
                self._diag(
                    "unanalysed_body",
                    f"body of {name} is {lang.upper()} code, not SQL: its lineage is not analysed",
                    self.toks[j][2],
                )
            )
            return
        plpgsql = lang == "plpgsql"
        procedural = plpgsql or self._sql_body_procedural()
        sub = self._sub(j, procedural=procedural, plpgsql=plpgsql, seg_diags=self.seg_diags)
        if sub is not None:
            mark = len(self.acc.segments)
            sub.run(name)
            if not plpgsql:
                self._sql_result(mark, name)

    def _sql_result(self, mark: int, name: str) -> None:
        """A LANGUAGE sql function returns the rows of its last statement when that is a query:
        that segment (emitted from index `mark` on) is marked as the function's result."""
        if self.routine_kind != "function":
            return
        segs = self.acc.segments
        for k in range(len(segs) - 1, mark - 1, -1):
            seg = segs[k]
            if seg.process != name or not seg.sql:
                continue
            head = seg.sql.lstrip("( \t\r\n").split(None, 1)
            if head and head[0].upper() in _QUERY_START and not seg.assigns:
                segs[k] = replace(seg, returns=True)
            return

    def _do(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        lang = "plpgsql"
        body = -1
        for t in range(i + 1, end):
            k = self._kind(t)
            if k in ("S", "D") and body < 0:
                body = t
            elif self._word(t) == "LANGUAGE" and t + 1 < end:
                lang = self._lang(t + 1)
        if body < 0:
            self._emit(i, end, process)
            return nxt
        if lang in ("plpgsql", "sql"):
            sub = self._sub(body, procedural=True, plpgsql=lang == "plpgsql", seg_diags=self.seg_diags)
            if sub is not None:
                sub.run(process if process is not None else ANONYMOUS_BLOCK)
        return nxt
