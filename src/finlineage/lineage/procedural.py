"""Split SQL scripts, including procedural SQL, into statements sqlglot can parse one by one.

Approach
--------
A dialect-aware regex lexer (one compiled pattern per dialect; comments and whitespace are
skipped inside the pattern itself) turns the script into tokens carrying their character
offsets; line numbers are derived from the offsets (bisect over newline positions), so every
Segment is mapped to 1-based lines of the ORIGINAL text, also for statements found inside
dollar-quoted / string routine bodies and literal dynamic SQL (re-lexed with a line offset).

A small recursive-descent walker over the tokens then recognises, per dialect family:

* batch/hard separators: T-SQL ``GO [n]`` lines, Oracle ``/`` lines, MySQL ``DELIMITER x``;
* plain statements, ending at ``;`` at parenthesis depth 0 — and for T-SQL, where semicolons are
  optional, also at a statement-starting keyword (SELECT after INSERT/UNION/AS/FOR/a CTE, SET
  after UPDATE, EXEC after INSERT, ... are continuations);
* routines (CREATE [OR REPLACE|OR ALTER] PROCEDURE/PROC/FUNCTION/TRIGGER, Oracle PACKAGE BODY):
  recorded in ``SplitResult.routines`` with line span and definition text; bodies given inline
  (T-SQL ``AS ...`` up to the end of the batch, ``BEGIN ... END``, Oracle ``IS|AS decls BEGIN
  ... END``) or as a string (``AS $$...$$`` / ``AS '...'``, LANGUAGE plpgsql/sql/Snowflake SQL;
  other languages are recorded but not split);
* control flow is stripped and the statements inside become segments: BEGIN/END, TRY/CATCH,
  IF/ELSIF/ELSE, WHILE, LOOP, REPEAT, FOR ... IN <query> LOOP|DO (the query is a segment),
  CASE statements, EXCEPTION handlers, labels. Sub-queries of IF/WHILE conditions and of
  scalar DECLARE/SET/LET/RETURN/ASSERT expressions become SELECT segments; cursor queries
  (``CURSOR ... FOR|IS <query>``) too. Scalar DECLARE/SET/LET, assignments, PRINT, RAISERROR,
  THROW, RAISE, SIGNAL, transaction control and cursor OPEN/FETCH/CLOSE are dropped;
* T-SQL table variables: ``DECLARE @t TABLE (...)`` becomes the segment ``CREATE TABLE @t
  (...)`` (sqlglot parses ``@t`` as a table name); ``RETURNS @t TABLE (...)`` is not emitted;
* calls: ``EXEC[UTE] proc``, ``CALL proc()``, PL/pgSQL ``PERFORM f()``, Oracle bare
  ``pkg.proc(...);`` inside blocks and PostgreSQL ``EXECUTE FUNCTION f()`` triggers become
  Segments with ``sql == ""`` and ``calls=(name,)``; ``INSERT ... EXEC proc`` too (plus an info
  diagnostic: the target of such an insert is not analysed);
* dynamic SQL (``EXEC(@sql)``, ``sp_executesql``, ``EXECUTE IMMEDIATE``, PL/pgSQL ``EXECUTE``,
  MySQL ``PREPARE``): a Segment with ``sql == ""`` carrying a ``dynamic_sql`` warning. When the
  SQL is a single string literal it is split and analysed instead; its segments carry an info
  ``dynamic_sql`` diagnostic (none for Snowflake ``EXECUTE IMMEDIATE $$...$$`` blocks);
* ``SELECT ... INTO scalar_vars`` (PL/pgSQL, PL/SQL incl. BULK COLLECT, MySQL, Snowflake):
  the INTO clause is blanked out (newlines kept) so the segment stays a plain SELECT.

``process`` is the routine name (``package.member`` for Oracle package bodies) or
``"anonymous block"`` for DO blocks and non-T-SQL top-level ``[DECLARE ...] BEGIN ... END``
blocks. Names are normalised like the engine normalises table names (unquoted parts by the
dialect's normalisation strategy, e.g. lower-case for T-SQL/PostgreSQL, upper-case for
Snowflake/Oracle; quoted parts kept unless the dialect is case-insensitive).

Segments with ``sql == ""`` carry only calls and/or diagnostics. Script-level problems (nesting
too deep, internal fallback) are in ``SplitResult.diagnostics``.

Limits (best effort)
--------------------
* Oracle: no compound triggers, no conditional compilation (``$IF``), ``TYPE BODY`` is split as
  plain statements; package specs are walked but not recorded, and packages themselves are not
  in ``routines`` (ObjectKind has no "package"): only their members, as ``pkg.member``; local
  subprograms of a procedure are attributed to the enclosing routine; SQL*Plus line commands are
  skipped by line.
* Snowflake: JavaScript/Python/Java/Scala bodies are not split; ``EXECUTE IMMEDIATE :var`` and
  ``IDENTIFIER(...)`` are reported as dynamic or left to the engine.
* Nested block comments and ``$$`` inside T-SQL/Oracle/MySQL text are not special.
* T-SQL statements without semicolons are split by keyword heuristics: exotic statements
  (e.g. ``ENABLE TRIGGER``) may stick to the previous one.
* Nesting deeper than 100 constructs is flattened (diagnostic ``too_deep``); any internal
  error falls back to a plain ``;`` split (diagnostic ``split_error``). Never raises.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from finlineage.lineage.model import Diagnostic, ObjectDefinition, ObjectKind, Severity

__all__ = ["ANONYMOUS_BLOCK", "Segment", "SplitResult", "split_script"]

ANONYMOUS_BLOCK = "anonymous block"


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


@dataclass(frozen=True, slots=True)
class SplitResult:
    segments: tuple[Segment, ...]
    routines: tuple[ObjectDefinition, ...]
    """Procedures/functions/triggers defined, with line spans and full definition text."""
    diagnostics: tuple[Diagnostic, ...]


# --------------------------------------------------------------------------- dialect profiles

_TSQL_D = frozenset({"tsql", "fabric"})
_PG_D = frozenset({"postgres", "redshift", "materialize", "risingwave"})
_MYSQL_D = frozenset({"mysql", "doris", "starrocks", "singlestore"})
_BACKSLASH_D = frozenset(
    {
        "mysql",
        "doris",
        "starrocks",
        "singlestore",
        "bigquery",
        "spark",
        "spark2",
        "databricks",
        "hive",
        "snowflake",
        "clickhouse",
        "drill",
    }
)
_DQ_STRING_D = frozenset(
    {"mysql", "doris", "starrocks", "singlestore", "bigquery", "spark", "spark2", "databricks", "hive"}
)
_HASH_COMMENT_D = frozenset({"mysql", "doris", "starrocks", "singlestore", "bigquery"})


@dataclass(frozen=True, slots=True)
class _Profile:
    name: str
    tsql: bool
    oracle: bool
    pg: bool
    mysql: bool
    snowflake: bool
    bigquery: bool
    generic: bool
    strategy: NormalizationStrategy


@lru_cache(maxsize=64)
def _profile(dialect: str) -> _Profile:
    name = (dialect or "").split(",")[0].strip().lower()
    try:
        strategy = Dialect.get_or_raise(name or None).normalization_strategy
    except Exception:
        strategy = NormalizationStrategy.LOWERCASE
    return _Profile(
        name=name,
        tsql=name in _TSQL_D,
        oracle=name == "oracle",
        pg=name in _PG_D,
        mysql=name in _MYSQL_D,
        snowflake=name == "snowflake",
        bigquery=name == "bigquery",
        generic=name == "",
        strategy=strategy,
    )


_KIND: dict[str, str] = {}


@lru_cache(maxsize=64)
def _lexer(name: str, delim: str) -> re.Pattern[str]:
    skip = [r"\s++", r"--[^\n]*+", r"/\*[\s\S]*?(?:\*/|\Z)"]
    if name in _HASH_COMMENT_D:
        skip.append(r"\#[^\n]*")
    if name == "snowflake":
        skip.append(r"//[^\n]*")
    alts: list[str] = []
    if delim and delim != ";":
        alts.append(rf"(?P<h>{re.escape(delim)})")
    # words first (the most frequent token), unless a string prefix such as N' E' q' r""" follows
    alts.append(r"(?![NnEeRrBbXxQqUu]{1,2}&?['\"])(?P<w>(?:[^\W\d]|[@#])[\w$#@]*+)")
    if name not in _TSQL_D and name != "oracle" and name not in _MYSQL_D:
        alts.append(r"(?P<d>\$(?P<tag>(?:[A-Za-z_]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z))")
    if name == "bigquery":
        alts.append(r"(?P<s3>[rRbB]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)))")
    if name == "oracle":
        alts.append(
            r"(?P<s4>[nN]?[qQ]'(?:\[[\s\S]*?\]'|\{[\s\S]*?\}'|\([\s\S]*?\)'|<[\s\S]*?>'|(?P<qd>\S)[\s\S]*?(?P=qd)'))"
        )
    if name in _PG_D:
        alts.append(r"(?P<s2>[eE]'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*(?:'|\Z))")
    if name in _BACKSLASH_D:
        alts.append(r"(?P<s1>(?:[NnRrBbXx]|[Uu]&)?'[^'\\]*(?:(?:\\[\s\S]|'')[^'\\]*)*(?:'|\Z))")
        alts.append(r'(?P<dq>"[^"\\]*(?:(?:\\[\s\S]|"")[^"\\]*)*(?:"|\Z))')
    else:
        alts.append(r"(?P<s1>(?:[NnRrBbXx]|[Uu]&)?'[^']*(?:''[^']*)*(?:'|\Z))")
        alts.append(r'(?P<dq>"[^"]*(?:""[^"]*)*(?:"|\Z))')
    alts.append(r"(?P<q1>`[^`]*(?:``[^`]*)*(?:`|\Z))")
    if name in _TSQL_D:
        alts.append(r"(?P<q2>\[[^\]]*(?:\]\][^\]]*)*(?:\]|\Z))")
    alts.append(r"(?P<w2>(?:[^\W\d]|[@#])[\w$#@]*+)")
    alts.append(r"(?P<n>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)")
    alts.append(r"(?P<semi>;)")
    alts.append(r"(?P<p>:=|::|[\s\S])")
    alts.append(r"(?P<end>\Z)")
    return re.compile("(?:" + "|".join(skip) + ")*+(?:" + "|".join(alts) + ")")


_GROUP_KIND = {
    "w": "W",
    "w2": "W",
    "n": "N",
    "semi": ";",
    "p": "P",
    "q1": "Q",
    "q2": "Q",
    "s1": "S",
    "s2": "S",
    "s3": "S",
    "s4": "S",
    "d": "D",
    "h": "H",
}

Tok = tuple[str, str, int, int]
"""(kind, value, start, end): kind W word (value upper-cased), Q quoted identifier, S string,
D dollar-quoted string (value = tag), N number, P punctuation (value = text), ; and H (hard
separator: GO line, Oracle '/' line, custom DELIMITER)."""

_GO_TAIL = re.compile(r"[ \t]*(?:\d+)?[ \t]*(?:--[^\n]*)?\r?(?:\n|\Z)")
_SLASH_TAIL = re.compile(r"[ \t]*\r?(?:\n|\Z)")
_DELIMITER_LINE = re.compile(r"^[ \t]*delimiter[ \t]+(\S+)[ \t]*\r?$", re.I | re.M)


def _line_head_blank(text: str, pos: int) -> bool:
    ls = text.rfind("\n", 0, pos) + 1
    return not text[ls:pos].strip()


def _tokenize(text: str, prof: _Profile) -> list[Tok]:
    out: list[Tok] = []
    if "delimiter" in text or "DELIMITER" in text or _DELIMITER_LINE.search(text):
        pos = 0
        delim = ";"
        for m in _DELIMITER_LINE.finditer(text):
            _lex(text, prof, delim, pos, m.start(), out)
            out.append(("H", "", m.start(), m.end()))
            delim = m.group(1)
            pos = m.end()
        _lex(text, prof, delim, pos, len(text), out)
    else:
        _lex(text, prof, ";", 0, len(text), out)
    return out


def _lex(text: str, prof: _Profile, delim: str, pos: int, endpos: int, out: list[Tok]) -> None:
    rx = _lexer(prof.name, delim)
    tsql = prof.tsql
    oracle = prof.oracle
    dq_kind = "S" if prof.name in _DQ_STRING_D else "Q"
    skip_until = -1
    append = out.append
    for m in rx.finditer(text, pos, endpos):
        g = m.lastgroup
        if g is None or g == "end":
            break
        s = m.start(g)
        e = m.end()
        if s < skip_until:
            continue
        if g == "w" or g == "w2":
            v = text[s:e].upper()
            if tsql and v == "GO" and _line_head_blank(text, s):
                t = _GO_TAIL.match(text, e)
                if t is not None:
                    append(("H", "GO", s, e))
                    skip_until = t.end()
                    continue
            append(("W", v, s, e))
        elif g == "p":
            v = text[s:e]
            if oracle and v == "/" and _line_head_blank(text, s) and _SLASH_TAIL.match(text, e):
                append(("H", "/", s, e))
            else:
                append(("P", v, s, e))
        elif g == "d":
            append(("D", m.group("tag") or "", s, e))
        elif g == "dq":
            append((dq_kind, "", s, e))
        else:
            append((_GROUP_KIND[g], "", s, e))


# --------------------------------------------------------------------------- keyword tables


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TSQL_STARTERS = _words(
    """SELECT INSERT UPDATE DELETE MERGE CREATE ALTER DROP TRUNCATE WITH DECLARE SET EXEC EXECUTE IF
    WHILE BEGIN RETURN PRINT RAISERROR THROW BREAK CONTINUE GOTO WAITFOR OPEN FETCH CLOSE DEALLOCATE
    COMMIT ROLLBACK SAVE USE GRANT REVOKE DENY BULK DBCC CHECKPOINT RECONFIGURE KILL BACKUP RESTORE
    REVERT SETUSER"""
)
_SELECT_CONT = frozenset({"UNION", "ALL", "EXCEPT", "INTERSECT", "DISTINCT", "AS", "FOR", "MINUS"})
_DML_CONT = frozenset({"THEN", "ON", "FOR", "OF", "INSTEAD", ",", "AFTER", "BEFORE", "OR"})
_GRANTS = frozenset({"GRANT", "REVOKE", "DENY"})
_OBJ_TYPES = _words(
    """TABLE VIEW PROCEDURE PROC FUNCTION INDEX SCHEMA TRIGGER DATABASE SEQUENCE TYPE SYNONYM USER
    ROLE STATISTICS"""
)
_SQL_VERBS = _words(
    """SELECT INSERT UPDATE DELETE MERGE WITH CREATE ALTER DROP TRUNCATE GRANT REVOKE DENY COPY UNLOAD
    VALUES TABLE COMMENT ANALYZE REFRESH REPLACE UPSERT LOAD PUT REMOVE LIST SHOW DESCRIBE DESC
    EXPLAIN USE VACUUM OPTIMIZE CACHE UNCACHE MSCK LOCK UNLOCK RENAME UNDROP SUMMARIZE FROM
    BULK INSERT"""
)
_DROP_WORDS = _words(
    """SET LET PRINT RAISERROR THROW RAISE SIGNAL RESIGNAL LEAVE ITERATE EXIT CONTINUE BREAK GOTO
    WAITFOR FETCH CLOSE DEALLOCATE NULL COMMIT ROLLBACK SAVEPOINT SAVE RELEASE START ASSERT MOVE
    REVERT SETUSER DBCC CHECKPOINT RECONFIGURE KILL ABORT PIPE GET"""
)
_SUBQUERY_DROP = frozenset({"SET", "LET", "ASSERT"})
_SQLPLUS = _words(
    """SET SPOOL PROMPT WHENEVER REM REMARK DEFINE UNDEFINE COLUMN COL TTITLE BTITLE BREAK COMPUTE
    CLEAR SHOW EXIT QUIT CONNECT CONN DISCONNECT VARIABLE VAR PRINT ACCEPT PAUSE HOST"""
)
_TXN_WORDS = frozenset(
    {
        "TRAN",
        "TRANSACTION",
        "WORK",
        "DISTRIBUTED",
        "ISOLATION",
        "READ",
        "DEFERRED",
        "IMMEDIATE",
        "EXCLUSIVE",
        "DIALOG",
        "CONVERSATION",
    }
)
_ROUTINE_WORDS: dict[str, ObjectKind] = {
    "PROCEDURE": "procedure",
    "PROC": "procedure",
    "FUNCTION": "function",
    "TRIGGER": "trigger",
    "PACKAGE": "procedure",
}
_ROUTINE_MODS = frozenset(
    {
        "TEMP",
        "TEMPORARY",
        "SECURE",
        "EDITIONABLE",
        "NONEDITIONABLE",
        "AGGREGATE",
        "CONSTRAINT",
        "GLOBAL",
        "LOCAL",
        "DEFINER",
    }
)
_MYSQL_BODY_START = frozenset(
    {
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "SET",
        "CALL",
        "IF",
        "WHILE",
        "LOOP",
        "REPEAT",
        "CASE",
        "DECLARE",
        "WITH",
    }
)
_INTO_END = _words(
    """FROM WHERE GROUP HAVING ORDER LIMIT UNION EXCEPT INTERSECT MINUS WINDOW QUALIFY FETCH FOR OFFSET
    CONNECT START"""
)
_IF_STOP = frozenset({"ELSIF", "ELSEIF", "ELSE", "END"})
_END_ONLY = frozenset({"END"})
_BLOCK_STOP = frozenset({"END", "EXCEPTION"})
_HANDLER_STOP = frozenset({"WHEN", "END"})
_CASE_STOP = frozenset({"WHEN", "ELSE", "END"})
_REPEAT_STOP = frozenset({"UNTIL", "END"})
_NO_STOP: frozenset[str] = frozenset()
_STRAY = frozenset({"END", "ELSE", "ELSIF", "ELSEIF", "EXCEPTION", "WHEN", "UNTIL", "THEN", "GO"})
_NESTING = frozenset(
    {"BEGIN", "IF", "WHILE", "LOOP", "REPEAT", "FOR", "FOREACH", "CASE", "DECLARE", "CREATE", "ALTER", "DO"}
)
_BUILTIN_CALLS = frozenset({"raise_application_error", "dbms_output.put_line", "dbms_output.put"})
_QUERY_START = frozenset({"SELECT", "WITH"})

MAX_NEST = 100
MAX_DEPTH = 8


# --------------------------------------------------------------------------- the walker


class _Acc:
    __slots__ = ("diagnostics", "nest", "routines", "segments", "too_deep")

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.routines: list[ObjectDefinition] = []
        self.diagnostics: list[Diagnostic] = []
        self.nest = 0
        self.too_deep = False


class _Parser:
    def __init__(
        self,
        text: str,
        prof: _Profile,
        acc: _Acc,
        *,
        line_base: int = 0,
        procedural: bool = False,
        plpgsql: bool = False,
        depth: int = 0,
        seg_diags: tuple[Diagnostic, ...] = (),
    ) -> None:
        self.text = text
        self.p = prof
        self.acc = acc
        self.line_base = line_base
        self.procedural = procedural
        self.plpgsql = plpgsql
        self.depth = depth
        self.seg_diags = seg_diags
        self.toks = _tokenize(text, prof)
        self.n = len(self.toks)
        self._nl: list[int] | None = None
        self.routine_kind: str | None = None

    # ----------------------------------------------------------------- small helpers

    def run(self, process: str | None) -> None:
        i = 0
        while i < self.n:
            j = self._statements(i, _NO_STOP, process, False)
            i = max(j, i + 1) if j < self.n else j

    def _line(self, pos: int) -> int:
        nl = self._nl
        if nl is None:
            nl = self._nl = [m.start() for m in re.finditer("\n", self.text)]
        return self.line_base + bisect_left(nl, pos) + 1

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
    ) -> None:
        if b <= a:
            return
        s = self.toks[a][2]
        e = self.toks[b - 1][3]
        text = self.text[s:e] if sql is None else sql
        self.acc.segments.append(
            Segment(text, self._line(s), self._line(max(s, e - 1)), process, calls, diags + self.seg_diags)
        )

    def _strip_into(self) -> bool:
        p = self.p
        return (
            p.oracle or p.mysql or p.snowflake or (p.pg and self.plpgsql) or (p.generic and self.procedural)
        )

    # ----------------------------------------------------------------- statement scanning

    def _scan(self, i: int, in_block: bool) -> tuple[int, int]:
        """End (exclusive) of the statement starting at i, and the index to continue from."""
        toks = self.toks
        n = self.n
        tsql = self.p.tsql
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
        j = i
        while j < n:
            k, v, _, _ = toks[j]
            if k == ";":
                if depth == 0:
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
                    if v == "ELSE" and case == 0 and stop_end:
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

    # ----------------------------------------------------------------- statement lists

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
                if stop_create and v in ("CREATE", "ALTER") and self._tsql_batch_start(i):
                    return i
            j = self._statement(i, process, in_block)
            i = j if j > i else i + 1
        return i

    def _tsql_batch_start(self, i: int) -> bool:
        j = i + 1
        if self._word(j) == "OR" and self._word(j + 1) in ("ALTER", "REPLACE"):
            j += 2
        return self._word(j) in ("PROCEDURE", "PROC", "FUNCTION", "TRIGGER", "VIEW")

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

    def _has_assign(self, i: int, end: int) -> bool:
        toks = self.toks
        depth = 0
        for j in range(i, end):
            k, v, _, _ = toks[j]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")" and depth:
                    depth -= 1
                elif depth == 0 and (v == ":=" or (v == "=" and j <= i + 3)):
                    return True
        return False

    def _nesting(self, i: int, v: str, process: str | None, in_block: bool) -> int:
        p = self.p
        if v == "BEGIN":
            return self._begin(i, process, in_block)
        if v == "IF":
            return self._if_tsql(i, process) if p.tsql else self._if(i, process, in_block)
        if v == "WHILE":
            return self._while_tsql(i, process) if p.tsql else self._while(i, process, in_block)
        if v == "DECLARE":
            return self._declare(i, process, in_block)
        if v in ("CREATE", "ALTER"):
            return self._create(i, process, in_block)
        if not p.tsql:
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

    def _simple(self, i: int, process: str | None, in_block: bool) -> int:
        end, nxt = self._scan(i, in_block)
        if end <= i:
            return max(nxt, i + 1)
        first = self._word(i)
        if self.p.tsql and first == "INSERT":
            x = self._find(i + 1, frozenset({"EXEC", "EXECUTE"}), end)
            if x > 0:
                return self._insert_exec(i, x, end, nxt, process)
        sql = None
        if first in _QUERY_START and self._strip_into():
            sql = self._without_into(i, end)
        self._emit(i, end, process, sql=sql)
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

    def _without_into(self, a: int, b: int) -> str | None:
        toks = self.toks
        depth = 0
        start = -1
        for j in range(a, b):
            k, v, _, _ = toks[j]
            if k == "P":
                if v == "(":
                    depth += 1
                elif v == ")" and depth:
                    depth -= 1
            elif k == "W" and depth == 0 and v == "INTO" and j > a:
                pv = toks[j - 1][1]
                if pv in ("INSERT", "MERGE"):
                    return None
                start = j
                if pv == "COLLECT" and j - 2 > a and toks[j - 2][1] == "BULK":
                    start = j - 2
                stop = b
                d2 = 0
                for t in range(j + 1, b):
                    k2, v2, _, _ = toks[t]
                    if k2 == "P":
                        if v2 == "(":
                            d2 += 1
                        elif v2 == ")" and d2:
                            d2 -= 1
                    elif k2 == "W" and d2 == 0 and v2 in _INTO_END:
                        stop = t
                        break
                s0 = toks[a][2]
                cut_s = toks[start][2]
                cut_e = toks[stop][2] if stop < b else toks[b - 1][3]
                blank = re.sub(r"[^\n]", " ", self.text[cut_s:cut_e])
                return (self.text[s0:cut_s] + blank + self.text[cut_e : toks[b - 1][3]]).rstrip()
        return None

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
                self._emit(j + 1, m, process)
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

    # ----------------------------------------------------------------- control flow

    def _begin(self, i: int, process: str | None, in_block: bool, *, force_block: bool = False) -> int:
        j = i + 1
        nv = self._val(j)
        nk = self._kind(j)
        if not force_block and (j >= self.n or nk in (";", "H") or (nk == "W" and nv in _TXN_WORDS)):
            return self._skip(i, in_block)
        if self.p.tsql:
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
        if nv == "ATOMIC":
            j += 1
        elif nv == "NOT" and self._word(j + 1) == "ATOMIC":
            j += 2
        proc = process if process is not None else ANONYMOUS_BLOCK
        j = self._statements(j, _BLOCK_STOP, proc, True)
        if self._word(j) == "EXCEPTION":
            j = self._handlers(j + 1, proc)
        return self._end(j, ())

    def _handlers(self, j: int, process: str | None) -> int:
        while self._word(j) == "WHEN":
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                return self._skip(j, True)
            j = self._statements(t + 1, _HANDLER_STOP, process, True)
        return j

    def _if(self, i: int, process: str | None, in_block: bool) -> int:
        t = self._find(i + 1, frozenset({"THEN"}))
        if t < 0:
            return self._simple(i, process, in_block)
        self._subqueries(i + 1, t, process)
        j = self._statements(t + 1, _IF_STOP, process, True)
        while self._word(j) in ("ELSIF", "ELSEIF"):
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                return self._skip(j, True)
            self._subqueries(j + 1, t, process)
            j = self._statements(t + 1, _IF_STOP, process, True)
        if self._word(j) == "ELSE":
            j = self._statements(j + 1, _END_ONLY, process, True)
        return self._end(j, ("IF",))

    def _tsql_cond_end(self, i: int) -> int:
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

    def _if_tsql(self, i: int, process: str | None) -> int:
        c = self._tsql_cond_end(i + 1)
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

    def _while_tsql(self, i: int, process: str | None) -> int:
        c = self._tsql_cond_end(i + 1)
        self._subqueries(i + 1, c, process)
        if c >= self.n or self._kind(c) in (";", "H"):
            return c
        return self._statement(c, process, False)

    def _while(self, i: int, process: str | None, in_block: bool) -> int:
        d = self._find(i + 1, frozenset({"DO", "LOOP"}))
        if d < 0:
            return self._skip(i, in_block)
        self._subqueries(i + 1, d, process)
        j = self._statements(d + 1, _END_ONLY, process, True)
        return self._end(j, ("WHILE", "LOOP"))

    def _repeat(self, i: int, process: str | None) -> int:
        j = self._statements(i + 1, _REPEAT_STOP, process, True)
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
        if self._word(r) in _QUERY_START:
            self._emit(r, lp, process)
        elif self._is_p(r, "(") and self._word(r + 1) in _QUERY_START:
            self._emit(r + 1, self._matching(r, lp), process)
        elif self._word(r) == "EXECUTE":
            self._dynamic(i, r + 1, lp, process)
        j = self._statements(lp + 1, _END_ONLY, process, True)
        return self._end(j, ("LOOP", "FOR"))

    def _case(self, i: int, process: str | None, in_block: bool) -> int:
        j = self._find(i + 1, frozenset({"WHEN"}))
        if j < 0:
            return self._simple(i, process, in_block)
        while self._word(j) == "WHEN":
            t = self._find(j + 1, frozenset({"THEN"}))
            if t < 0:
                return self._skip(j, True)
            self._subqueries(j + 1, t, process)
            j = self._statements(t + 1, _CASE_STOP, process, True)
        if self._word(j) == "ELSE":
            j = self._statements(j + 1, _END_ONLY, process, True)
        return self._end(j, ("CASE",))

    # ----------------------------------------------------------------- declarations

    def _declare(self, i: int, process: str | None, in_block: bool) -> int:
        p = self.p
        if p.tsql:
            return self._declare_tsql(i, process, in_block)
        if p.oracle or p.snowflake or (p.pg and self.plpgsql) or (p.generic and self.procedural):
            proc = process if process is not None else ANONYMOUS_BLOCK
            return self._section(i + 1, proc, None)
        end, nxt = self._scan(i, in_block)
        h = self._find(i + 1, frozenset({"HANDLER"}), end)
        if h > 0:  # MySQL: DECLARE ... HANDLER FOR cond[, cond] statement
            f = self._find(h + 1, frozenset({"FOR"}), end)
            j = f + 1 if f > 0 else h + 1
            while j < self.n and not (
                self._kind(j) == "W"
                and self._val(j) in _MYSQL_BODY_START | {"BEGIN", "LEAVE", "ITERATE", "RESIGNAL", "SIGNAL"}
            ):
                if self._kind(j) in (";", "H"):
                    return j
                j += 1
            if j >= self.n:
                return j
            return self._statement(j, process, True)
        self._declaration(i + 1, end, process)
        return nxt

    def _declare_tsql(self, i: int, process: str | None, in_block: bool) -> int:
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

    def _declaration(self, a: int, end: int, process: str | None) -> None:
        """One declaration: a cursor query becomes a segment; sub-queries of initialisers too."""
        c = self._find(a, frozenset({"CURSOR"}), end)
        if c >= 0:
            f = self._find(c + 1, frozenset({"FOR", "IS"}), end)
            if f > 0:
                q = f + 1
                if self._is_p(q, "(") and self._word(q + 1) in _QUERY_START:
                    self._emit(q + 1, self._matching(q, end), process)
                    return
                if self._word(q) in _QUERY_START:
                    cut = self._find(q + 1, frozenset({"FOR"}), end)
                    qend = cut if cut > 0 and self._word(cut + 1) in ("UPDATE", "READ") else end
                    self._emit(q, qend, process)
                    return
        self._subqueries(a, end, process)

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
                if v in ("PROCEDURE", "FUNCTION") and not self.p.tsql:
                    j = self._subprogram(j, process, container)
                    continue
                if v == "CREATE":
                    return j
            end, nxt = self._scan(j, False)
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

    # ----------------------------------------------------------------- routines

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

    def _create(self, i: int, process: str | None, in_block: bool) -> int:
        p = self.p
        if self._word(i) == "ALTER" and not p.tsql:
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
        p = self.p
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
                if v == "LANGUAGE" and h + 1 < self.n:
                    lang = self._lang(h + 1)
                elif v in ("AS", "IS"):
                    skip = (
                        prev == "EXECUTE"
                        or prev.startswith("@")
                        or (v == "IS" and not (p.oracle or p.generic))
                        or (kind == "trigger" and prev in ("NEW", "OLD", "PARENT"))
                    )
                    if not skip:
                        return "as", h + 1, lang
                elif v == "BEGIN" and not p.tsql:
                    return "block", h, lang
                elif v == "DECLARE" and kind == "trigger" and not p.tsql:
                    return "section", h + 1, lang
                elif v == "EXECUTE" and kind == "trigger" and self._word(h + 1) in ("FUNCTION", "PROCEDURE"):
                    return "pgtrigger", h + 2, lang
                elif v == "RETURN" and (p.mysql or p.pg):
                    return "stmt", h, lang
                elif v == "ROW":
                    seen_row = True
                elif (
                    p.mysql
                    and (seen_row if kind == "trigger" else closed)
                    and (v in _MYSQL_BODY_START or self._is_p(h + 1, ":"))
                ):
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
        p = self.p
        if body == "as":
            nk = self._kind(at)
            nv = self._val(at)
            if p.tsql:
                return self._statements(at, _NO_STOP, name, False, until_hard=True, stop_create=True)
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
            if nk == "W" and nv == "BEGIN" and not p.oracle:
                return self._begin(at, name, True, force_block=True)
            return self._section(at, name, name if is_package else None)
        if body == "block":
            return self._begin(at, name, True, force_block=True)
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
    ) -> _Parser | None:
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
        return _Parser(
            inner,
            self.p,
            self.acc,
            line_base=self._line(start) - 1,
            procedural=procedural,
            plpgsql=plpgsql,
            depth=self.depth + 1,
            seg_diags=seg_diags,
        )

    def _string_body(self, j: int, name: str, lang: str | None) -> None:
        p = self.p
        if lang is None:
            lang = "sql"
            if p.pg:
                inner, _ = self._literal(j)
                if re.match(r"\s*(?:<<\w+>>\s*)?(?:DECLARE|BEGIN)\b", inner, re.I):
                    lang = "plpgsql"
        if lang not in ("sql", "plpgsql"):
            return
        plpgsql = lang == "plpgsql"
        sub = self._sub(j, procedural=plpgsql or not p.pg, plpgsql=plpgsql, seg_diags=self.seg_diags)
        if sub is not None:
            sub.run(name)

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

    # ----------------------------------------------------------------- calls and dynamic SQL

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


# --------------------------------------------------------------------------- entry point

_FALLBACK = re.compile(
    r"""--[^\n]*|/\*[\s\S]*?(?:\*/|\Z)|'(?:[^']|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z)|\$\$[\s\S]*?(?:\$\$|\Z)|;|[^;'"\-/$]+|[\s\S]"""
)


def _fallback(sql: str, why: str) -> SplitResult:
    segments: list[Segment] = []
    start = 0

    def add(a: int, b: int) -> None:
        text = sql[a:b]
        stripped = text.strip()
        if stripped:
            lead = len(text) - len(text.lstrip())
            line_start = sql.count("\n", 0, a + lead) + 1
            segments.append(Segment(stripped, line_start, line_start + stripped.count("\n")))

    for m in _FALLBACK.finditer(sql):
        if m.group() == ";":
            add(start, m.start())
            start = m.end()
    add(start, len(sql))
    diag = Diagnostic("split_error", f"script splitter fell back to a plain ';' split ({why})", "warning")
    return SplitResult(tuple(segments), (), (diag,))


def split_script(sql: str, dialect: str) -> SplitResult:
    """Split `sql` (a script in sqlglot dialect `dialect`) into parseable statement segments.

    Never raises: unanalysable parts are reported as diagnostics.
    """
    if not isinstance(sql, str):
        sql = (
            bytes(sql).decode("utf-8", errors="replace") if isinstance(sql, (bytes, bytearray)) else str(sql)
        )
    try:
        prof = _profile(dialect if isinstance(dialect, str) else "")
        acc = _Acc()
        _Parser(sql, prof, acc).run(None)
        routines = sorted(acc.routines, key=lambda r: (r.line_start, r.line_end))
        return SplitResult(tuple(acc.segments), tuple(routines), tuple(acc.diagnostics))
    except (RecursionError, MemoryError) as e:
        return _fallback(sql, type(e).__name__)
    except Exception as e:
        return _fallback(sql, f"{type(e).__name__}: {e}")
