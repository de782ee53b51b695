"""The splitter's core: segments, the shared accumulator, token helpers and the statement scanner.

`_Core` knows tokens, names, lines and where a statement ends; the layers above it (walker,
calls, control flow, routines) and the dialect subclasses (`dialects`) add the statement forms.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from sqlglot.dialects.dialect import NormalizationStrategy

from finlineage.lineage.model import Diagnostic, ObjectDefinition, ObjectKind, Severity
from finlineage.lineage.splitters.lexer import (
    _DML_CONT,
    _GRANTS,
    _OBJ_TYPES,
    _SELECT_CONT,
    _TSQL_STARTERS,
    _Profile,
    _tokenize,
    is_builtin_routine,
)

__all__ = ["ANONYMOUS_BLOCK", "Segment", "SplitResult"]

ANONYMOUS_BLOCK = "anonymous block"


_VIEW_TAIL = re.compile(
    r"\s(?P<tail>WITH\s+(?:(?:LOCAL|CASCADED)\s+)?CHECK\s+OPTION(?:\s+CONSTRAINT\s+[\w$#\"]+)?"
    r"|WITH\s+READ\s+ONLY|WITH\s+(?:NO\s+)?DATA)\s*;?\s*\Z",
    re.I,
)
_CREATE_AS = re.compile(r"\s*CREATE\b[^;]*?\b(?:VIEW|TABLE)\b", re.I)
"""The closing option of a view or table created from a query (checks on writes through the view,
whether the query runs now): nothing a lineage reader needs, and clauses the parser often cannot read."""


@dataclass(frozen=True, slots=True)
class Segment:
    sql: str
    """One statement's text, parseable alone by sqlglot in `dialect` ("" for a pure call)."""
    line_start: int
    """1-based lines in the ORIGINAL input."""
    line_end: int
    process: str | None = None
    """Enclosing routine name (procedure/function/trigger, or "anonymous block")."""
    calls: tuple[str, ...] = ()
    """Routines invoked by EXEC/EXECUTE/CALL/PERFORM in this segment."""
    diagnostics: tuple[Diagnostic, ...] = ()
    column: int = 1
    """1-based column of the segment's first character in line `line_start` of the original."""
    assigns: tuple[str, ...] = ()
    """Variables (or trigger row fields such as ``new.amount``) that receive the outputs of this
    segment's query, by position: ``SELECT ... INTO v``, ``SELECT @v = ...``, ``SET v = (SELECT
    ...)``, ``v := (SELECT ...)``, ``:NEW.c := expr``. Lower-case names, T-SQL ``@`` kept."""
    returns: bool = False
    """The query's rows are the enclosing routine's result (PL/pgSQL ``RETURN QUERY``)."""
    source: str = ""
    """For a segment without SQL: the cursor (or record) whose row the `assigns` receive
    (``FETCH c INTO a, b``, ``FOR r IN c LOOP``), or that is returned (``RETURN NEXT r``). A
    segment without SQL, source or calls that `assigns` sets the variables to a constant."""
    branch: tuple[int, ...] = ()
    """The conditional regions (IF/ELSIF/ELSE/CASE branches, loop bodies, exception handlers) the
    statement runs in, outermost first, each a number unique in the script: an assignment
    overwrites only values assigned in its own region or regions nested in it; values assigned
    in other branches (or before, outside the region) may still hold, and are merged."""
    in_expression: bool = False
    """A sub-query of an expression (IF/WHILE condition, scalar DECLARE/SET/RETURN value): it
    reads its tables, its rows are no result set."""
    bookkeeping: bool = False
    """Analysed only for what its `assigns` receive, no statement of its own: the values a DML
    statement's `RETURNING ... INTO v` returns, as `SELECT <returned> FROM <its table>`."""


@dataclass(frozen=True, slots=True)
class SplitResult:
    segments: tuple[Segment, ...]
    routines: tuple[ObjectDefinition, ...]
    """Procedures/functions/triggers defined, with line spans and full definition text."""
    diagnostics: tuple[Diagnostic, ...]
    package_vars: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(Oracle package, variables declared at package level): they keep their values between
    calls of the package's routines (``package.member``)."""
    closes: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = ()
    """Constructs one of whose arms always runs (IF/CASE with ELSE, a CASE statement that
    raises when no WHEN matches, a block's body with its exception handlers, TRY/CATCH):
    (number of the first segment after it, its enclosing regions, the regions of its arms)."""


class _Acc:
    __slots__ = (
        "branch",
        "branches",
        "closes",
        "dead_arms",
        "diagnostics",
        "nest",
        "package_vars",
        "routines",
        "segments",
        "too_deep",
    )

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.routines: list[ObjectDefinition] = []
        self.diagnostics: list[Diagnostic] = []
        self.nest = 0
        self.too_deep = False
        self.branch: tuple[int, ...] = ()
        """The conditional regions the walker is in (see `Segment.branch`)."""
        self.branches = 0
        self.closes: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        """See `SplitResult.closes`."""
        self.dead_arms: set[int] = set()
        """Arms whose last statement leaves the construct another way (RAISE, THROW, RETURN)."""
        self.package_vars: dict[str, list[str]] = {}
        """Oracle package name -> variables declared at package level (spec and body)."""


class _Hooks:
    """What a dialect's splitter decides: the dialect subclasses (`dialects`) override these;
    the defaults are plain SQL."""

    def _strip_into(self) -> bool:
        """Is `SELECT ... INTO v` an assignment of variables here (not SELECT INTO a new table)?"""
        return False

    def _keyword_ends(self) -> bool:
        """Do statements also end where a statement-starting keyword begins (optional `;`)?"""
        return False

    def _plsql_forms(self) -> bool:
        """PL/SQL forms: `IS` opens a routine body, a bare `pkg.proc(...)` statement is a call."""
        return False

    def _begin_opens_body(self) -> bool:
        """Does BEGIN (or a trigger's DECLARE) right after a routine header open its body?"""
        return True

    def _return_opens_body(self) -> bool:
        """Is a routine body a single `RETURN ...` statement after the header (MySQL, PostgreSQL)?"""
        return False

    def _statement_opens_body(self, h: int, kind: ObjectKind, seen_row: bool, closed: bool) -> bool:
        """Is the word at h the first statement of a routine body given without BEGIN (MySQL)?"""
        return False

    def _line_command(self, i: int, in_block: bool) -> int:
        """A client line command (SQL*Plus) at i: the index after it, else -1."""
        return -1

    def _clean(self, text: str) -> tuple[str, str | None]:
        """A dialect's rewrite of clauses the parser cannot read and that carry no lineage
        (blanked, line breaks kept), with a note saying what was stripped; None: unchanged."""
        return text, None

    def _declare_sections(self) -> bool:
        """Does DECLARE open a declaration section ending at BEGIN (PL/SQL, PL/pgSQL, ...)?"""
        return False

    def _body_language(self, j: int) -> str:
        """The language of a string routine body at j that names none."""
        return "sql"

    def _sql_body_procedural(self) -> bool:
        """Is a LANGUAGE sql string body procedural code (DECLARE, IF, ...) in this dialect?"""
        return True

    def _case_without_else_raises(self) -> bool:
        """Does a CASE statement no WHEN of which matches raise an error when it has no ELSE
        (PL/SQL, PL/pgSQL, MySQL: CASE_NOT_FOUND), so that one of its branches always runs?"""
        return False

    def _alter_defines_routines(self) -> bool:
        """Does ALTER PROCEDURE/FUNCTION/TRIGGER give a routine's whole new definition?"""
        return False


class _Core(_Hooks):
    """Token helpers and the statement scanner shared by every dialect's splitter."""

    def __init__(
        self,
        text: str,
        prof: _Profile,
        acc: _Acc,
        *,
        line_base: int = 0,
        col_base: int = 0,
        procedural: bool = False,
        plpgsql: bool = False,
        depth: int = 0,
        seg_diags: tuple[Diagnostic, ...] = (),
    ) -> None:
        self.text = text
        self.p = prof
        self.acc = acc
        self.line_base = line_base
        self.col_base = col_base
        """Columns of the text's first line start this far into the original line."""
        self.procedural = procedural
        self.plpgsql = plpgsql
        self.depth = depth
        self.seg_diags = seg_diags
        self.toks = _tokenize(text, prof)
        self.n = len(self.toks)
        self._nl: list[int] | None = None
        self.routine_kind: str | None = None
        self.literals: dict[tuple[str | None, str], tuple[str, int, str]] = {}
        self.tail = -1
        """The first token of the last statement of the statement list walked last."""
        """(routine, variable) -> the constant SQL text last assigned to it (dynamic SQL)."""

    def _line(self, pos: int) -> int:
        nl = self._nl
        if nl is None:
            nl = self._nl = [m.start() for m in re.finditer("\n", self.text)]
        return self.line_base + bisect_left(nl, pos) + 1

    def _column(self, pos: int) -> int:
        """1-based column of character `pos` in its line of the original input."""
        head = self.text.rfind("\n", 0, pos) + 1
        return pos - head + 1 + (self.col_base if head == 0 else 0)

    def _val(self, j: int) -> str:
        return self.toks[j][1] if j < self.n else ""

    def _kind(self, j: int) -> str:
        return self.toks[j][0] if j < self.n else ""

    def _is_p(self, j: int, v: str) -> bool:
        return j < self.n and self.toks[j][0] == "P" and self.toks[j][1] == v

    def _word(self, j: int) -> str:
        """Upper-cased word at j, "" when not a word."""
        if j < self.n and self.toks[j][0] == "W":
            return self.toks[j][1]
        return ""

    def _matching(self, j: int, limit: int) -> int:
        """Index of the ")" closing the "(" at j (or `limit`)."""
        depth = 0
        toks = self.toks
        while j < limit:
            k, v, _, _ = toks[j]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")":
                    depth -= 1
                    if depth == 0:
                        return j
            j += 1
        return limit

    def _find(self, j: int, words: frozenset[str], limit: int | None = None) -> int:
        """First depth-0 word of `words` from j (outside CASE...END), -1 at ; / hard break / end."""
        toks = self.toks
        end = self.n if limit is None else limit
        depth = 0
        case = 0
        while j < end:
            k, v, _, _ = toks[j]
            if k == "P":
                if v in "([":
                    depth += 1
                elif v in ")]" and depth:
                    depth -= 1
            elif k == ";" or k == "H":
                if depth == 0 or k == "H":
                    return -1
            elif k == "W" and depth == 0:
                if v in words and case == 0:
                    return j
                if v == "CASE":
                    case += 1
                elif v == "END" and case:
                    case -= 1
            j += 1
        return -1

    def _ident(self, k: str, s: int, e: int) -> str:
        raw = self.text[s:e]
        strategy = self.p.strategy
        if k == "Q" and len(raw) >= 2:
            q = raw[0]
            close = "]" if q == "[" else q
            inner = raw[1:-1] if raw.endswith(close) else raw[1:]
            inner = inner.replace(close * 2, close)
            if strategy is NormalizationStrategy.CASE_INSENSITIVE:
                return inner.lower()
            if strategy is NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE:
                return inner.upper()
            return inner
        if strategy is NormalizationStrategy.CASE_SENSITIVE:
            return raw
        if strategy in (NormalizationStrategy.UPPERCASE, NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE):
            return raw.upper()
        return raw.lower()

    def _name(self, j: int) -> tuple[str | None, int]:
        """A dotted routine name at j; (None, j) when there is none."""
        parts: list[str] = []
        toks = self.toks
        n = self.n
        while j < n:
            k, v, s, e = toks[j]
            if k not in ("W", "Q") or (k == "W" and v.startswith("@") and not parts):
                break
            parts.append(self._ident(k, s, e))
            j += 1
            if j < n and toks[j][0] == "P" and toks[j][1] == ".":
                j += 1
                while j < n and toks[j][0] == "P" and toks[j][1] == ".":
                    j += 1
                continue
            break
        if not parts:
            return None, j
        return ".".join(parts), j

    def _diag(self, code: str, message: str, pos: int, severity: Severity = "warning") -> Diagnostic:
        return Diagnostic(code, message, severity, self._line(pos))

    def _emit(
        self,
        a: int,
        b: int,
        process: str | None,
        *,
        sql: str | None = None,
        calls: tuple[str, ...] = (),
        diags: tuple[Diagnostic, ...] = (),
        assigns: tuple[str, ...] = (),
        returns: bool = False,
        source: str = "",
        in_expression: bool = False,
        bookkeeping: bool = False,
    ) -> None:
        if b <= a:
            return
        if calls:
            calls = tuple(c for c in calls if not is_builtin_routine(c))
            if sql == "" and not calls and not diags:
                return  # only a call of something the database provides
        s = self.toks[a][2]
        e = self.toks[b - 1][3]
        text = self._text(a, b) if sql is None else sql
        if text:
            text, note = self._clean(text)
            if note:
                diags = (*diags, self._diag("stripped_clauses", note, s, "info"))
            # CREATE VIEW ... WITH CHECK OPTION / READ ONLY, ... WITH [NO] DATA: no lineage
            m = _VIEW_TAIL.search(text, max(len(text) - 200, 0)) if _CREATE_AS.match(text) else None
            if m and re.search(r"\bAS\b", text[: m.start()], re.I):
                text = (
                    text[: m.start("tail")] + re.sub(r"[^\n]", " ", m.group("tail")) + text[m.end("tail") :]
                )
                diags = (
                    *diags,
                    self._diag(
                        "stripped_clauses", f"stripped {' '.join(m.group('tail').split())}", s, "info"
                    ),
                )
        self.acc.segments.append(
            Segment(
                text,
                self._line(s),
                self._line(max(s, e - 1)),
                process,
                calls,
                diags + self.seg_diags,
                self._column(s),
                assigns,
                returns,
                source,
                self.acc.branch,
                in_expression,
                bookkeeping,
            )
        )

    def _enter_branch(self) -> tuple[int, ...]:
        """Enter a new conditional region; returns what to give `_leave_branch`."""
        acc = self.acc
        saved = acc.branch
        acc.branches += 1
        acc.branch = (*saved, acc.branches)
        return saved

    def _leave_branch(self, saved: tuple[int, ...]) -> None:
        self.acc.branch = saved

    def _text(self, a: int, b: int) -> str:
        """The text of tokens [a, b) as a statement sqlglot can parse (dialects may rewrite it,
        keeping every line break where it was)."""
        return self.text[self.toks[a][2] : self.toks[b - 1][3]]

    def _exec_end(self, i: int, in_block: bool) -> tuple[int, int]:
        """Where the EXEC/EXECUTE statement at i ends (see `_scan`)."""
        return self._scan(i, in_block)

    def _scan(self, i: int, in_block: bool) -> tuple[int, int]:
        """End (exclusive) of the statement starting at i, and the index to continue from."""
        toks = self.toks
        n = self.n
        tsql = self._keyword_ends()
        stop_end = tsql or in_block
        depth = 0
        case = 0
        first = toks[i][1] if toks[i][0] == "W" else ""
        pending = first == "WITH"
        main = "" if pending else first
        seen_select = first == "SELECT"
        seen_set = False
        prev = first
        fn_body = self.routine_kind == "function"
        # Oracle INSERT ALL|FIRST WHEN ... THEN INTO ... ELSE INTO ...: its ELSE is no branch end
        multi_insert = first == "INSERT" and self._word(i + 1) in ("ALL", "FIRST")
        j = i
        while j < n:
            k, v, _, _ = toks[j]
            if k == ";":
                # SQL has no ';' inside parentheses: at depth > 0 a ')' is missing (a typo);
                # ending here keeps the statements after it
                return j, j + 1
            elif k == "H":
                return j, j
            elif k == "P":
                if v == "(" or v == "[":
                    depth += 1
                elif (v == ")" or v == "]") and depth:
                    depth -= 1
            elif k == "W":
                if v == "CASE":
                    case += 1
                elif v == "END":
                    if case:
                        case -= 1
                    elif depth == 0 and j > i and stop_end:
                        return j, j
                elif depth == 0 and j > i:
                    if v == "ELSE" and case == 0 and stop_end and not multi_insert:
                        return j, j
                    if v == "VALUES":
                        seen_select = True  # INSERT ... VALUES: a following SELECT is a new statement
                    if tsql and v in _TSQL_STARTERS:
                        cont = False
                        if main in _GRANTS and prev in ("GRANT", "REVOKE", "DENY", ",", "FOR"):
                            cont = True
                        elif pending and v in ("SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"):
                            cont = True
                            pending = False
                            if not main:
                                main = v
                            seen_select = seen_select or v == "SELECT"
                        elif v == "SELECT":
                            cont = (
                                prev in _SELECT_CONT
                                or (main == "INSERT" and not seen_select)
                                or (main == "RETURN" and fn_body and prev == "RETURN")
                            )
                            seen_select = True
                        elif v == "WITH":
                            if not self._is_cte(j):
                                cont = True
                            elif prev == "AS" or (main == "RETURN" and fn_body and prev == "RETURN"):
                                cont = True
                                pending = True
                        elif v in ("INSERT", "UPDATE", "DELETE", "MERGE"):
                            cont = prev in _DML_CONT or (v == "UPDATE" and self._is_p(j + 1, "("))
                        elif v == "SET":
                            cont = (
                                (main == "UPDATE" and not seen_set)
                                or prev in ("UPDATE", "DELETE")
                                or main == "ALTER"
                            )
                            if main == "UPDATE":
                                seen_set = True
                        elif v in ("ALTER", "DROP"):
                            cont = main == "ALTER" or prev == "OR"
                        elif v in ("EXEC", "EXECUTE"):
                            cont = (main == "INSERT" and not seen_select) or prev == "WITH"
                            seen_select = seen_select or cont
                        elif v == "IF":
                            cont = prev in _OBJ_TYPES
                        elif v == "FETCH":
                            cont = prev in ("ROWS", "ROW")
                        elif v in _GRANTS:
                            cont = prev == "WITH"
                        if not cont:
                            return j, j
            if depth == 0:
                prev = v if k in ("W", "P") else k
            j += 1
        return n, n

    def _is_cte(self, j: int) -> bool:
        k = j + 1
        if self._kind(k) not in ("W", "Q"):
            return False
        k += 1
        if self._is_p(k, "("):
            k = self._matching(k, self.n) + 1
        return self._word(k) == "AS" and self._is_p(k + 1, "(")

    def _skip(self, i: int, in_block: bool) -> int:
        return self._scan(i, in_block)[1]

    def _line_end(self, i: int) -> tuple[int, int]:
        """Statement of a line-oriented command (SQL*Plus): ends at ; or at the end of the line."""
        toks = self.toks
        j = i + 1
        while j < self.n:
            k = toks[j][0]
            if k == ";":
                return j, j + 1
            if k == "H" or "\n" in self.text[toks[j - 1][3] : toks[j][2]]:
                return j, j
            j += 1
        return self.n, self.n

    def _record(self, a: int, b: int, name: str, kind: ObjectKind, temporary: bool) -> None:
        b = min(b, self.n)
        while b > a + 1 and self.toks[b - 1][0] == "H":
            b -= 1
        s = self.toks[a][2]
        e = self.toks[b - 1][3] if b > a else self.toks[a][3]
        self.acc.routines.append(
            ObjectDefinition(
                name=name,
                kind=kind,
                line_start=self._line(s),
                line_end=self._line(max(s, e - 1)),
                definition=self.text[s:e],
                is_temporary=temporary,
            )
        )

    def _statement(self, i: int, process: str | None, in_block: bool) -> int:
        """One statement at token i; returns the index to continue from (see `dialects`)."""
        raise NotImplementedError
