"""The splitter per dialect family: one class per family, as sqlglot has one per dialect.

`Splitter` is the statement dispatcher shared by all; `TSqlSplitter` replaces the block forms
(GO batches, optional semicolons, IF/WHILE governing one statement, TRY/CATCH, table variables,
INSERT ... EXEC). Every family differs from the shared walker through the hook methods it
overrides (`base._Core`'s "dialect hooks": where statements end, what opens a routine body,
PL/SQL forms, line commands, the language of a string body, ...); the lexer profile keeps only
lexical facts (string, comment and identifier forms, normalisation).
"""

from __future__ import annotations

import re
from typing import Any

from finlineage.lineage.model import ObjectKind
from finlineage.lineage.splitters.clauses import (
    _CTAS_TABLE,
    _INSERT_TABLE,
    _INTO_END_RE,
    _MERGE_EVOLUTION,
    _ORA_LOG_ERRORS,
    _ORA_MERGE,
    _ORA_MERGE_DELETE,
    _ORA_MVIEW,
    _ORA_OBJECT_VIEW,
    _ORA_TRANSLATE_USING,
    _ORA_VIEW_MODIFIERS,
    _PG_ON_COMMIT_DROP,
    _REMOVE_DUPLICATES,
    _SF_TASK,
    _TSQL_VIEW_ATTRIBUTES,
    _UPSERT_ALL,
    _blank,
    _translate_using,
)
from finlineage.lineage.splitters.lexer import (
    _DROP_WORDS,
    _END_ONLY,
    _MYSQL_BODY_START,
    _NESTING,
    _NO_STOP,
    _SQL_VERBS,
    _SQLPLUS,
    _STRAY,
    _SUBQUERY_DROP,
    _TSQL_STARTERS,
    _TXN_WORDS,
    MAX_NEST,
    _Profile,
    is_builtin_routine,
)
from finlineage.lineage.splitters.routines import _Routines

__all__ = [
    "GenericSplitter",
    "MySqlSplitter",
    "OracleSplitter",
    "PostgresSplitter",
    "SnowflakeSplitter",
    "Splitter",
    "TSqlSplitter",
    "splitter_class",
]

_COMPOUND_OPS = frozenset("+-*/%&|^")
_PROJECTION_END = frozenset(
    {"FROM", "WHERE", "GROUP", "HAVING", "ORDER", "UNION", "EXCEPT", "INTERSECT", "INTO", "OPTION"}
)
_ASSIGNMENT_END = frozenset({"FROM", "WHERE", "OUTPUT", "OPTION", "WHEN", "SET", "SELECT", "ELSE"})


class Splitter(_Routines):
    """Statement dispatch shared by every dialect."""

    def _clean(self, text: str) -> tuple[str, str | None]:
        # `INSERT INTO t TABLE src` / `CREATE TABLE t AS TABLE src` (Spark, Hive: the parser
        # drops the query): the shorthand for SELECT * FROM src, written out on the same line
        m = _MERGE_EVOLUTION.match(text)
        if m:  # Databricks `MERGE WITH SCHEMA EVOLUTION INTO`: a schema option, no lineage
            out = text[: m.start("opt")] + _blank(m.group("opt")) + text[m.end("opt") :]
            return out, "stripped clauses that carry no lineage: WITH SCHEMA EVOLUTION"
        m = _INSERT_TABLE.match(text) or _CTAS_TABLE.match(text)
        if m is None or _INTO_END_RE.search(m.group(1)):
            return text, None
        out = text[: m.start("kw")] + "SELECT * FROM" + text[m.end("kw") :]
        return out, "TABLE t read as SELECT * FROM t"

    def _statement(self, i: int, process: str | None, in_block: bool) -> int:
        toks = self.toks
        k, v, _, _ = toks[i]
        if k != "W":
            if (
                k == "P"
                and v == "<"
                and self._is_p(i + 1, "<")
                and self._is_p(i + 3, ">")
                and self._is_p(i + 4, ">")
            ):
                return i + 5  # <<label>>
            if k == "P" and v == ":" and (in_block or self.procedural):  # :NEW.c := expr
                end, nxt = self._scan(i, in_block)
                if self._has_assign(i, end):
                    if not self._assignment(i, end, process):
                        self._subqueries(i + 1, end, process)
                    return nxt
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
        if v == "PERFORM":
            return self._perform(i, process, in_block)
        if v == "RETURN":
            return self._return(i, process, in_block)
        if v == "OPEN":
            return self._open(i, process, in_block)
        if v == "PREPARE":
            return self._prepare(i, process, in_block)
        if v == "FORALL":
            f = self._find(i + 1, frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "EXECUTE"}))
            return self._statement(f, process, in_block) if f > i else self._skip(i, in_block)
        line = self._line_command(i, in_block)
        if line >= 0:
            return line
        if v == "SET" and self._word(i + 1) in ("SEARCH_PATH", "SCHEMA"):
            return self._simple(i, process, in_block)  # session context: names of what follows
        if v == "FETCH":
            end, nxt = self._scan(i, in_block)
            self._fetch(i, end, process)
            return nxt
        if v in _DROP_WORDS:
            end, nxt = self._scan(i, in_block)
            if v in _SUBQUERY_DROP:
                self._remember_literal(i + 1, end, process)
            if v in _SUBQUERY_DROP and not self._assignment(i + 1, end, process):
                if v == "LET":
                    self._declaration(i + 1, end, process)
                else:
                    self._subqueries(i + 1, end, process)
            return nxt
        if v in _STRAY:
            return i + 1
        if v in _SQL_VERBS:
            return self._simple(i, process, in_block)
        return self._other(i, process, in_block)

    def _prepare(self, i: int, process: str | None, in_block: bool) -> int:
        """`PREPARE s FROM <sql>`: dynamic SQL."""
        end, nxt = self._scan(i, in_block)
        f = self._find(i + 1, frozenset({"FROM"}), end)
        self._dynamic(i, f + 1 if f >= 0 else end, end, process)
        return nxt

    def _other(self, i: int, process: str | None, in_block: bool) -> int:
        """A statement whose first word is no SQL verb: an assignment or a bare call in
        procedural code, else a statement for the parser."""
        end, nxt = self._scan(i, in_block)
        if in_block or self.procedural:
            if self._has_assign(i, end):
                self._remember_literal(i, end, process)
                if not self._assignment(i, end, process):
                    self._subqueries(i + 1, end, process)
                return nxt
            if self._plsql_forms():
                name, after = self._name(i)
                if name is not None and (
                    after == end or (self._is_p(after, "(") and self._matching(after, end) == end - 1)
                ):
                    if not is_builtin_routine(name):
                        self._emit(i, end, process, sql="", calls=(name,))
                        self._call_args(name, after, end, process)
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
            j = self._branch(i + 1, _END_ONLY, process)
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
    """T-SQL / Fabric: semicolons optional, GO batches, IF/WHILE governing one statement,
    TRY/CATCH, table variables, INSERT ... EXEC, ALTER PROCEDURE, bodies up to the batch end."""

    def _clean(self, text: str) -> tuple[str, str | None]:
        m = _TSQL_VIEW_ATTRIBUTES.match(text)
        if m is None:
            return super()._clean(text)
        out = text[: m.start("attrs")] + _blank(m.group("attrs")) + text[m.end("attrs") :]
        return out, "stripped clauses that carry no lineage: view attributes (WITH SCHEMABINDING, ...)"

    def _keyword_ends(self) -> bool:
        return True

    def _begin_opens_body(self) -> bool:
        return False

    def _alter_defines_routines(self) -> bool:
        return True

    def _as_body(self, at: int, lang: str | None, name: str, is_package: bool) -> int:
        return self._statements(at, _NO_STOP, name, False, until_hard=True, stop_create=True)

    def _other(self, i: int, process: str | None, in_block: bool) -> int:
        return self._simple(i, process, in_block)  # any other word starts a statement

    def _perform(self, i: int, process: str | None, in_block: bool) -> int:
        return self._simple(i, process, in_block)

    def _prepare(self, i: int, process: str | None, in_block: bool) -> int:
        return self._simple(i, process, in_block)

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
            first_segment, first_close = len(self.acc.segments), len(self.acc.closes)
            j = self._statements(j + 1, _END_ONLY, process, True)
            tail = self.tail
            if self._word(j) == "END":
                j += 1
                if self._word(j) in ("TRY", "CATCH"):
                    j += 1
            while self._kind(j) == ";":
                j += 1
            if nv == "TRY" and self._word(j) == "BEGIN" and self._word(j + 1) == "CATCH":
                tried = self._as_arm(first_segment, first_close, tail)  # TRY and CATCH are the arms
                j, caught = self._arm(j + 2, _END_ONLY, process)
                self._close([tried, caught])
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
        j, arm = self._arm_statement(c, process)
        while self._kind(j) == ";":
            j += 1
        if self._word(j) == "ELSE":
            j += 1
            if j < self.n and self._kind(j) not in (";", "H"):
                j, other = self._arm_statement(j, process)
                self._close([arm, other])
        return j

    def _arm_statement(self, i: int, process: str | None) -> tuple[int, int]:
        """The one statement (or BEGIN ... END block) an IF/ELSE/WHILE governs: a conditional
        region (where it ends, the region's number)."""
        saved = self._enter_branch()
        arm = self.acc.branch[-1]
        try:
            j = self._statement(i, process, False)
            block = self._word(i) == "BEGIN" and self._word(i + 1) not in ("TRY", "CATCH")
            self._mark_arm(arm, self.tail if block else i)  # a BEGIN ... END block: its last statement
            return j, arm
        finally:
            self._leave_branch(saved)

    def _branch_statement(self, i: int, process: str | None) -> int:
        return self._arm_statement(i, process)[0]

    def _while(self, i: int, process: str | None, in_block: bool) -> int:
        c = self._cond_end(i + 1)
        self._subqueries(i + 1, c, process)
        if c >= self.n or self._kind(c) in (";", "H"):
            return c
        return self._branch_statement(c, process)

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

    def _text(self, a: int, b: int) -> str:
        """The statement text with compound assignments (`c += x`, `@v *= y`, ...) spelt out as
        `c = c + x` (parenthesised when the right side has several tokens), line breaks kept."""
        toks = self.toks
        text = self.text
        pieces: list[str] = []
        pos = toks[a][2]
        j = a
        owner: str | None = None
        while j < b - 1:
            k, v, s, e = toks[j]
            if not (k == "P" and v in _COMPOUND_OPS and self._is_p(j + 1, "=") and toks[j + 1][2] == e):
                j += 1
                continue
            t = self._assigned(j, a)
            x = self._assignment_end(j + 2, b)
            if t < 0 or x <= j + 2:
                j += 1
                continue
            target = text[toks[t][2] : toks[j - 1][3]]
            if t == j - 1 and not target.startswith("@"):
                if owner is None:
                    owner = self._dml_target(a, b)
                target = f"{owner}.{target}" if owner else target
            right = text[toks[j + 2][2] : toks[x - 1][3]]
            if any(toks[r][0] not in "WQNS" and toks[r][1] != "." for r in range(j + 2, x)):
                right = f"({right})"
            pieces.append(text[pos:s])
            pieces.append(f"= {target} {v} {right}")
            pos = toks[x - 1][3]
            j = x
        pieces.append(text[pos : toks[b - 1][3]])
        return "".join(pieces)

    def _dml_target(self, a: int, b: int) -> str:
        """How the target table of the UPDATE/MERGE at a is referred to (its alias, else its name),
        so that the prior value in a spelt-out compound assignment is the target's column."""
        j = a
        first = self._word(j)
        if first not in ("UPDATE", "MERGE"):
            return ""
        j += 1
        if self._word(j) == "TOP" and self._is_p(j + 1, "("):
            j = self._matching(j + 1, b) + 1
        if self._word(j) == "INTO":
            j += 1
        s = j
        name, j = self._name(j)
        if name is None or j <= s:
            return ""
        if first == "MERGE":
            if self._word(j) == "WITH" and self._is_p(j + 1, "("):
                j = self._matching(j + 1, b) + 1
            if self._word(j) == "AS":
                j += 1
            if self._kind(j) in ("W", "Q") and self._word(j) not in ("USING", "WITH"):
                return self.text[self.toks[j][2] : self.toks[j][3]]
        return self.text[self.toks[s][2] : self.toks[j - 1][3]]

    def _assigned(self, j: int, a: int) -> int:
        """First token of the (dotted) name assigned by the compound operator at j, -1 if none."""
        t = j - 1
        if t < a or self._kind(t) not in ("W", "Q"):
            return -1
        while t - 2 >= a and self._is_p(t - 1, ".") and self._kind(t - 2) in ("W", "Q"):
            t -= 2
        return t

    def _assignment_end(self, j: int, b: int) -> int:
        """End (exclusive) of the right side of an assignment starting at j."""
        toks = self.toks
        depth = 0
        case = 0
        while j < b:
            k, v, _, _ = toks[j]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")":
                    if depth == 0:
                        return j
                    depth -= 1
                elif v == "," and depth == 0:
                    return j
            elif k == "W" and depth == 0:
                if v == "CASE":
                    case += 1
                elif v == "END" and case:
                    case -= 1
                elif v in _ASSIGNMENT_END and case == 0:
                    return j
            elif k in (";", "H"):
                return j
            j += 1
        return b

    def _select_assigns(self, i: int, end: int) -> tuple[str, tuple[str, ...]] | None:
        """`SELECT @a = expr, @b = expr FROM ...`: the text without `@a =` (blanked, columns
        kept) and the variables, when every projection assigns one."""
        toks = self.toks
        j = i + 1
        if self._word(j) == "DISTINCT":
            j += 1
        if self._word(j) == "TOP":
            j = self._matching(j + 1, end) + 1 if self._is_p(j + 1, "(") else j + 2
        names: list[str] = []
        cuts: list[tuple[int, int]] = []
        depth = 0
        start = True
        while j < end:
            k, v, s, e = toks[j]
            if start:
                if not (k == "W" and v.startswith("@") and self._is_p(j + 1, "=")):
                    return None
                names.append(v.lower())
                cuts.append((s, toks[j + 1][3]))
                j += 2
                start = False
                continue
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")" and depth:
                    depth -= 1
                elif v == "," and depth == 0:
                    start = True
            elif k == "W" and depth == 0 and v in _PROJECTION_END:
                break
            j += 1
        if not names:
            return None
        base = toks[i][2]
        out = self._text(i, end)
        if len(out) != toks[end - 1][3] - base:
            return None  # rewritten (compound assignment): leave as is
        for s, e in reversed(cuts):
            out = out[: s - base] + " " * (e - s) + out[e - base :]
        return out, tuple(names)

    def _special_insert(self, i: int, end: int, nxt: int, process: str | None) -> int | None:
        x = self._find(i + 1, frozenset({"EXEC", "EXECUTE"}), end)
        return self._insert_exec(i, x, end, nxt, process) if x > 0 else None


class OracleSplitter(Splitter):
    """Oracle: SQL*Plus lines, `$IF` conditional compilation, DDL clauses the parser cannot read."""

    def _case_without_else_raises(self) -> bool:
        return True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cc: list[tuple[int, ...]] = []
        """Branch regions to restore at each open `$IF`'s `$END`."""

    def _statement(self, i: int, process: str | None, in_block: bool) -> int:
        if self._is_p(i, "$") and self._kind(i + 1) == "W":
            word = self._val(i + 1)
            if word in ("ELSIF", "ELSE", "END") and self._cc:
                self._leave_branch(self._cc.pop())
            if word in ("IF", "ELSIF", "ELSE"):  # each branch is a conditional region
                self._cc.append(self._enter_branch())
            if word in ("IF", "ELSIF"):  # $IF cond $THEN: every branch is code that may run
                if word == "IF":
                    self.acc.diagnostics.append(
                        self._diag(
                            "conditional_compilation",
                            "$IF conditional compilation: the statements of every branch are analysed "
                            "(which one is compiled depends on the database's settings)",
                            self.toks[i][2],
                            "info",
                        )
                    )
                j = i + 2
                while j < self.n and not (self._is_p(j, "$") and self._word(j + 1) == "THEN"):
                    j += 1
                return min(j + 2, self.n)
            if word in ("ELSE", "END"):
                return i + 2
            if word == "ERROR":
                j = i + 2
                while j < self.n and not (self._is_p(j, "$") and self._word(j + 1) == "END"):
                    j += 1
                return min(j + 2, self.n)
        return super()._statement(i, process, in_block)

    def _strip_into(self) -> bool:
        return True

    def _declare_sections(self) -> bool:
        return True

    def _plsql_forms(self) -> bool:
        return True

    def _line_command(self, i: int, in_block: bool) -> int:
        v = self._word(i)
        if not in_block and not self.procedural and (v in _SQLPLUS or v.startswith("@")):
            return self._line_end(i)[1]
        return -1

    def _exec_end(self, i: int, in_block: bool) -> tuple[int, int]:
        if not in_block and not self.procedural and self._word(i + 1) != "IMMEDIATE":
            return self._line_end(i)  # SQL*Plus EXEC: one line
        return self._scan(i, in_block)

    def _clean(self, text: str) -> tuple[str, str | None]:
        notes: list[str] = []
        out = text
        m = _ORA_MVIEW.match(out)
        if m and m.group("clauses").strip():
            out = out[: m.start("clauses")] + _blank(m.group("clauses")) + out[m.end("clauses") :]
            notes.append("materialized view storage/refresh/rewrite clauses")
        m = _ORA_OBJECT_VIEW.match(out)
        if m:
            out = out[: m.start("of")] + _blank(m.group("of")) + out[m.end("of") :]
            notes.append("object view OF type / OBJECT IDENTIFIER clause")
        m = _ORA_VIEW_MODIFIERS.match(out)
        if m:
            out = out[: m.start("mods")] + _blank(m.group("mods")) + out[m.end("mods") :]
            notes.append("view FORCE / EDITIONABLE modifiers")
        m = _ORA_MERGE_DELETE.search(out) if _ORA_MERGE.match(out) else None
        if m:
            out = out[: m.start()] + _blank(m.group(0)) + out[m.end() :]
            notes.append("MERGE ... UPDATE ... DELETE WHERE clause (deletes rows, writes no column)")
        m = _ORA_LOG_ERRORS.search(out)
        if m:
            out = out[: m.start()] + _blank(out[m.start() :])
            notes.append("LOG ERRORS clause")
        if _ORA_TRANSLATE_USING.search(out):
            out = _ORA_TRANSLATE_USING.sub(_translate_using, out)
            notes.append("TRANSLATE ... USING character set (read as a conversion of its argument)")
        if not notes:
            return text, None
        return out, "stripped clauses that carry no lineage: " + "; ".join(notes)


class GenericSplitter(Splitter):
    """No dialect: inside a routine body, PL/SQL-like blocks are assumed."""

    def _strip_into(self) -> bool:
        return self.procedural

    def _declare_sections(self) -> bool:
        return self.procedural

    def _plsql_forms(self) -> bool:
        return True


class PostgresSplitter(Splitter):
    """PostgreSQL family: PL/pgSQL bodies (EXECUTE is always dynamic SQL, SELECT INTO assigns)."""

    def _clean(self, text: str) -> tuple[str, str | None]:
        m = _REMOVE_DUPLICATES.match(text)
        if m:  # Redshift: matched rows replaced by the source's, the others inserted (by name)
            out = text[: m.start("rd")] + _UPSERT_ALL + text[m.end("rd") :]
            return out, "MERGE ... REMOVE DUPLICATES read as UPDATE SET * / INSERT * of the source rows"
        m = _PG_ON_COMMIT_DROP.match(text)
        if not m:
            return text, None
        out = text[: m.start("drop")] + _blank(m.group("drop")) + text[m.end("drop") :]
        return out, "stripped clauses that carry no lineage: ON COMMIT DROP of a temporary table"

    def _case_without_else_raises(self) -> bool:
        return True

    def _strip_into(self) -> bool:
        return self.plpgsql

    def _declare_sections(self) -> bool:
        return self.plpgsql

    def _return_opens_body(self) -> bool:
        return True

    def _body_language(self, j: int) -> str:
        inner, _ = self._literal(j)
        return "plpgsql" if _PLPGSQL_BODY.match(inner) else "sql"

    def _sql_body_procedural(self) -> bool:
        return False  # a LANGUAGE sql body is plain statements

    def _exec(self, i: int, process: str | None, in_block: bool) -> int:
        if self._word(i + 1) == "IMMEDIATE":
            return super()._exec(i, process, in_block)
        end, nxt = self._scan(i, in_block)
        self._dynamic(i, i + 1, end, process)
        return nxt


class MySqlSplitter(Splitter):
    """MySQL family: DELIMITER scripts, DECLARE ... HANDLER, EXECUTE of prepared statements."""

    def _case_without_else_raises(self) -> bool:
        return True

    def _strip_into(self) -> bool:
        return True

    def _exec(self, i: int, process: str | None, in_block: bool) -> int:
        # EXECUTE stmt [USING ...] runs a prepared statement, reported at its PREPARE
        return self._scan(i, in_block)[1]

    def _return_opens_body(self) -> bool:
        return True

    def _statement_opens_body(self, h: int, kind: ObjectKind, seen_row: bool, closed: bool) -> bool:
        # no BEGIN: the body is the one statement after the header (a trigger's after FOR EACH ROW)
        return (seen_row if kind == "trigger" else closed) and (
            self._val(h) in _MYSQL_BODY_START or self._is_p(h + 1, ":")
        )

    def _declare(self, i: int, process: str | None, in_block: bool) -> int:
        end = self._scan(i, in_block)[0]
        h = self._find(i + 1, frozenset({"HANDLER"}), end)
        if h < 0:
            return super()._declare(i, process, in_block)
        # DECLARE ... HANDLER FOR cond[, cond] statement: the statement is code that may run
        f = self._find(h + 1, frozenset({"FOR"}), end)
        j = f + 1 if f > 0 else h + 1
        while j < self.n and not (self._kind(j) == "W" and self._val(j) in _HANDLER_BODY_START):
            if self._kind(j) in (";", "H"):
                return j
            j += 1
        if j >= self.n:
            return j
        saved = self._enter_branch()
        try:
            return self._statement(j, process, True)
        finally:
            self._leave_branch(saved)


class SnowflakeSplitter(Splitter):
    """Snowflake Scripting: DECLARE sections, SELECT ... INTO :v, EXECUTE IMMEDIATE $$...$$."""

    def _clean(self, text: str) -> tuple[str, str | None]:
        m = _SF_TASK.match(text)
        if m is None:
            return super()._clean(text)
        # CREATE TASK t ... AS <statement>: the statement is what the task runs
        return _blank(text[: m.end()]) + text[m.end() :], "CREATE TASK header: its statement is analysed"

    def _strip_into(self) -> bool:
        return True

    def _declare_sections(self) -> bool:
        return True


_PLPGSQL_BODY = re.compile(r"\s*(?:<<\w+>>\s*)?(?:DECLARE|BEGIN)\b", re.I)
"""A string body without LANGUAGE that is PL/pgSQL (a block), not plain SQL."""
_HANDLER_BODY_START = _MYSQL_BODY_START | {"BEGIN", "LEAVE", "ITERATE", "RESIGNAL", "SIGNAL"}


def splitter_class(prof: _Profile) -> type[Splitter]:
    """The splitter class of a dialect profile."""
    if prof.tsql:
        return TSqlSplitter
    if prof.oracle:
        return OracleSplitter
    if prof.pg:
        return PostgresSplitter
    if prof.mysql:
        return MySqlSplitter
    if prof.snowflake:
        return SnowflakeSplitter
    if prof.generic:
        return GenericSplitter
    return Splitter
