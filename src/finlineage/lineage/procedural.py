"""Split SQL scripts, including procedural SQL, into statements sqlglot can parse one by one.

Approach
--------
A dialect-aware regex lexer (one compiled pattern per dialect; comments and whitespace are
skipped inside the pattern itself) turns the script into tokens carrying their character
offsets; line numbers are derived from the offsets (bisect over newline positions), so every
Segment is mapped to 1-based lines of the ORIGINAL text, also for statements found inside
dollar-quoted / string routine bodies and literal dynamic SQL (re-lexed with a line offset).

A small recursive-descent walker over the tokens (package `splitters`: ``lexer`` -> ``base``
core and scanner -> ``walker`` -> ``calls`` -> ``control`` -> ``routines`` -> ``dialects``, one
splitter subclass per dialect family: T-SQL, Oracle, PostgreSQL, MySQL, Snowflake, no dialect)
then recognises, per dialect family:

* batch/hard separators: T-SQL ``GO [n]`` lines, Oracle ``/`` lines, MySQL ``DELIMITER x``;
* plain statements, ending at ``;`` at parenthesis depth 0 — and for T-SQL, where semicolons are
  optional, also at a statement-starting keyword (SELECT after INSERT/UNION/AS/FOR/a CTE, SET
  after UPDATE, EXEC after INSERT, ... are continuations);
* routines (CREATE [OR REPLACE|OR ALTER] PROCEDURE/PROC/FUNCTION/TRIGGER, Oracle PACKAGE BODY):
  recorded in ``SplitResult.routines`` with line span and definition text; bodies given inline
  (T-SQL ``AS ...`` up to the end of the batch, ``BEGIN ... END``, Oracle ``IS|AS decls BEGIN
  ... END``, Oracle compound triggers) or as a string (``AS $$...$$`` / ``AS '...'``, LANGUAGE
  plpgsql/sql/Snowflake SQL; other languages are recorded, not split, with an
  ``unanalysed_body`` warning);
* control flow is stripped and the statements inside become segments: BEGIN/END, TRY/CATCH,
  IF/ELSIF/ELSE, WHILE, LOOP, REPEAT, FOR ... IN <query> LOOP|DO (the query is a segment),
  CASE statements, EXCEPTION handlers, labels. Sub-queries of IF/WHILE conditions and of
  scalar DECLARE/SET/LET/RETURN/ASSERT expressions become SELECT segments; cursor queries
  (``CURSOR ... FOR|IS <query>``) too. Scalar DECLARE/SET/LET, assignments, PRINT, RAISERROR,
  THROW, RAISE, SIGNAL, transaction control and cursor OPEN/FETCH/CLOSE are dropped; Oracle
  ``$IF ... $THEN ... $ELSE ... $END`` markers are dropped and every branch is kept;
* variable assignments from queries keep their variables in ``Segment.assigns``: ``SELECT ...
  INTO v`` (the INTO clause blanked), T-SQL ``SELECT @v = expr`` (``@v =`` blanked), ``SET v =
  (SELECT ...)``, ``v := (SELECT ...)``; trigger row-field assignments ``:NEW.c := expr`` become
  ``SELECT expr`` segments assigning ``new.c``;
* T-SQL compound assignments (``c += x``, ``@v *= y``) are spelt out (``c = t.c + x``), and
  Oracle clauses the parser cannot read and that carry no lineage (materialized view refresh /
  rewrite clauses, object view ``OF type``, ``TRANSLATE(x USING NCHAR_CS)``) are blanked with a
  ``stripped_clauses`` note; line breaks are kept so lines stay true;
* T-SQL table variables: ``DECLARE @t TABLE (...)`` becomes the segment ``CREATE TABLE @t
  (...)`` (sqlglot parses ``@t`` as a table name); ``RETURNS @t TABLE (...)`` is not emitted;
* calls: ``EXEC[UTE] proc``, ``CALL proc()``, PL/pgSQL ``PERFORM f()``, Oracle bare
  ``pkg.proc(...);`` inside blocks and PostgreSQL ``EXECUTE FUNCTION f()`` triggers become
  Segments with ``sql == ""`` and ``calls=(name,)``; ``INSERT ... EXEC proc`` too (plus an info
  diagnostic: the target of such an insert is not analysed);
* dynamic SQL (``EXEC(@sql)``, ``sp_executesql``, ``EXECUTE IMMEDIATE``, PL/pgSQL ``EXECUTE``,
  MySQL ``PREPARE``): a Segment with ``sql == ""`` carrying a ``dynamic_sql`` warning. When the
  SQL is a string literal, a concatenation of literals (``+``, ``||``) or ``format()`` of a
  literal template with literal arguments, or a variable last set to such a constant, it is
  split and analysed instead, with an info ``dynamic_sql`` diagnostic (none for Snowflake
  ``EXECUTE IMMEDIATE $$...$$`` blocks); calls of routines the database supplies (``dbms_*``,
  ``utl_*``, ``pg_*``, ``setval``, ...) are not calls;
* ``SELECT ... INTO scalar_vars`` (PL/pgSQL, PL/SQL incl. BULK COLLECT, MySQL, Snowflake):
  the INTO clause is blanked out (newlines kept) so the segment stays a plain SELECT;
* records and cursors: a cursor declaration's query assigns ``c.*``, ``FOR r IN <query>`` assigns
  ``r.*``, ``FOR r IN c`` and ``FETCH c INTO a, b`` are segments without SQL whose ``source`` is
  the cursor; ``v := <expression of variables>`` becomes ``SELECT <expression>`` assigning ``v``,
  ``v := <constant>`` a segment without SQL assigning ``v`` (what it held is gone);
* bookkeeping segments (``Segment.bookkeeping``, analysed for what variables receive, no
  statement of their own): ``RETURNING exprs INTO v`` as ``SELECT exprs FROM <the DML's table>``,
  and the arguments of a call (``CALL``, ``PERFORM``, a PL/SQL call statement, T-SQL ``EXEC``)
  as ``SELECT a, b`` assigning ``#arg0, #arg1`` by position and ``#arg=p`` for a named argument
  (``p => a``, ``p := a``, T-SQL ``@p = a``), with the called routine as ``source`` (the engine
  binds them to the parameters of a routine defined in the same script);
* every segment carries the conditional regions it runs in (``Segment.branch``: IF/ELSIF/ELSE,
  CASE branches, loop bodies, handlers, ``$IF`` branches), so that the engine merges values a
  variable may hold instead of keeping the last one in text order; ``SplitResult.closes`` says
  where a construct one of whose arms always runs ends (IF/CASE with ELSE, a PL/SQL, PL/pgSQL
  or MySQL CASE statement without ELSE, which raises when no WHEN matches, a block's body with
  its exception handlers, TRY/CATCH), leaving out arms that end in RAISE, THROW or RETURN: a
  variable assigned on every remaining arm no longer holds what it held before.

``process`` is the routine name (``package.member`` for Oracle package bodies) or
``"anonymous block"`` for DO blocks and non-T-SQL top-level ``[DECLARE ...] BEGIN ... END``
blocks. Names are normalised like the engine normalises table names (unquoted parts by the
dialect's normalisation strategy, e.g. lower-case for T-SQL/PostgreSQL, upper-case for
Snowflake/Oracle; quoted parts kept unless the dialect is case-insensitive).

Segments with ``sql == ""`` carry only calls and/or diagnostics. Script-level problems (nesting
too deep, internal fallback) are in ``SplitResult.diagnostics``.

Limits (best effort)
--------------------
* Oracle: ``TYPE BODY`` is split as plain statements; packages themselves are not in
  ``routines`` (the store's object kinds have no "package"): only their members, as
  ``pkg.member``, and the package-level variables of spec and body (``package_vars``); local
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

from finlineage.lineage.model import Diagnostic
from finlineage.lineage.splitters.base import ANONYMOUS_BLOCK, Segment, SplitResult, _Acc
from finlineage.lineage.splitters.dialects import splitter_class
from finlineage.lineage.splitters.lexer import _profile

__all__ = ["ANONYMOUS_BLOCK", "Segment", "SplitResult", "split_script"]


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
        splitter_class(prof)(sql, prof, acc).run(None)
        routines = sorted(acc.routines, key=lambda r: (r.line_start, r.line_end))
        packages = tuple((k, tuple(dict.fromkeys(v))) for k, v in acc.package_vars.items())
        return SplitResult(
            tuple(acc.segments), tuple(routines), tuple(acc.diagnostics), packages, tuple(acc.closes)
        )
    except (RecursionError, MemoryError) as e:
        return _fallback(sql, type(e).__name__)
    except Exception as e:
        return _fallback(sql, f"{type(e).__name__}: {e}")
