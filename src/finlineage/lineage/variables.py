"""Names of routine parameters and declared variables, read from a routine's definition text.

Inside a procedure, function, trigger or anonymous block, a bare name such as ``p_as_of`` or
``v_total`` in a SQL statement is usually a parameter or a local variable, not a column. The
engine uses these names so that they are neither reported as unresolved columns nor attributed
to a table as bogus column sources.

Read (best effort, regular expressions over the text with comments and strings blanked):

* the parameter list in parentheses after ``FUNCTION|PROCEDURE|PROC name`` (modes IN/OUT/INOUT/
  VARIADIC skipped; unnamed PostgreSQL parameters such as ``(date, numeric)`` give no name);
* declarations: every ``DECLARE`` section, and an Oracle ``IS|AS`` section, up to ``BEGIN``:
  ``name [CONSTANT] type [:= | DEFAULT ...];`` (``CURSOR c``, MySQL ``DECLARE a, b INT``);
* loop variables ``FOR rec IN ...`` and Snowflake ``LET name``;
* the row records ``NEW``/``OLD`` of triggers and PostgreSQL ``RETURNS trigger`` functions; for a
  trigger ``... ON t``, `trigger_table` gives ``t`` so that ``NEW.c`` is read as ``t.c``.

T-SQL ``@name`` and Snowflake ``:name`` are never parsed as columns, so they are not collected.
Names are in canonical form (lower-case; see `names`).
"""

from __future__ import annotations

import re

__all__ = [
    "declared_names",
    "parameters",
    "result_columns",
    "returned_rows",
    "trigger_pseudo_tables",
    "trigger_records",
    "trigger_table",
]

_BLANK = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.S)
_DOLLAR = re.compile(r"\$[A-Za-z_]*\$")
_HEADER = re.compile(
    r"\b(?:FUNCTION|PROCEDURE|PROC)\s+(?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\]|`[^`]+`)"
    r"(?:\s*\.\s*(?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\]|`[^`]+`))*\s*\(",
    re.I,
)
_DECLARE = re.compile(r"\bDECLARE\b", re.I)
_RETURNS_ROWS = re.compile(
    r"\bRETURNS\s+(?:(?P<var>@[\w$#]+)\s+)?TABLE\b(?P<list>\s*\()?"
    r"|\bRETURNS\s+SETOF\s+(?P<setof>[\w$.\"]+)",
    re.I,
)
_SCALAR_SETOF = frozenset(
    [
        "record",
        "int",
        "int2",
        "int4",
        "int8",
        "integer",
        "smallint",
        "bigint",
        "numeric",
        "decimal",
        "real",
        "float",
        "float4",
        "float8",
        "double",
        "text",
        "varchar",
        "char",
        "character",
        "bool",
        "boolean",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "interval",
        "uuid",
        "json",
        "jsonb",
        "bytea",
        "oid",
        "name",
        "regclass",
        "void",
    ]
)
"""`RETURNS SETOF <these>`: rows of no named columns (the caller names a record's columns)."""
_BODY_START = re.compile(r"\b(?:AS|IS|BEGIN)\b", re.I)
_HEADER_AS = re.compile(r"\b(?:IS|AS)\b", re.I)
_BEGIN = re.compile(r"\bBEGIN\b", re.I)
_COMPOUND = re.compile(r"\bCOMPOUND\s+TRIGGER\b", re.I)
_TIMING_POINT = re.compile(r"\b(?:BEFORE|AFTER|INSTEAD)\s+(?:EACH\s+ROW|STATEMENT|OF\s+EACH\s+ROW)\b", re.I)
_LOOP_VAR = re.compile(r"\bFOR(?:ALL)?\s+([A-Za-z_][\w$]*)\s+IN\b", re.I)
_LET = re.compile(r"\bLET\s+([A-Za-z_][\w$]*)", re.I)
_NAMES = re.compile(r"\s*((?:[A-Za-z_\"][\w$\"]*\s*,\s*)*[A-Za-z_\"][\w$\"]*)")
_MODES = frozenset({"in", "out", "inout", "variadic", "nocopy"})
_MULTIWORD_TYPE_TAIL = frozenset({"varying", "precision", "with", "without", "zone"})
_STATEMENT_WORDS = frozenset(
    [
        "select",
        "insert",
        "update",
        "delete",
        "merge",
        "set",
        "if",
        "while",
        "for",
        "loop",
        "return",
        "returns",
        "call",
        "exec",
        "execute",
        "open",
        "fetch",
        "close",
        "with",
        "create",
        "drop",
        "truncate",
        "raise",
        "perform",
        "null",
        "commit",
        "rollback",
        "begin",
        "end",
        "let",
        "case",
        "alter",
        "grant",
        "language",
        "declare",
        "values",
        "as",
        "is",
    ]
)
_SKIP_DECL = frozenset({"type", "subtype", "pragma", "procedure", "function", "continue", "exit", "undo"})
_MAX_TEXT = 500_000
_TRIGGER = re.compile(r"^\s*CREATE\b[^;]*?\bTRIGGER\b|\bRETURNS\s+TRIGGER\b", re.I)
_REFERENCING = re.compile(
    r"\bREFERENCING\b(.*?)(?:\bFOR\s+EACH\b|\bWHEN\b|\bBEGIN\b|\bDECLARE\b)", re.I | re.S
)
_ROW_ALIAS = re.compile(r"\b(?:NEW|OLD)\s+(?:ROW\s+)?AS\s+([A-Za-z_][\w$]*)", re.I)
_TRIGGER_ON = re.compile(
    r"^\s*CREATE\b[^;]*?\bTRIGGER\s+\S+\s+(?:(?:BEFORE|AFTER|INSTEAD\s+OF|FOR)\b[^;]*?\b)?ON\s+"
    r"(?!(?:DATABASE|ALL\s+SERVER)\b)"  # T-SQL: `TRIGGER t ON tbl AFTER ...`; DDL triggers fire on no table
    r"((?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\]|`[^`]+`)(?:\s*\.\s*(?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\]|`[^`]+`))*)",
    re.I,
)


def _clean(text: str) -> str:
    text = _BLANK.sub(lambda m: " " * len(m.group(0)) if m.group(0)[0] != "'" else "''", text[:_MAX_TEXT])
    return _DOLLAR.sub(" ", text)


def _name(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"') and len(raw) > 1:
        inner = raw[1:-1]
        return inner.lower() if inner == inner.upper() else inner
    return raw.lower()


def _list_items(text: str, start: int) -> tuple[list[str], int]:
    """The comma-separated items of the parenthesised list whose "(" ends just before `start`
    (nested parentheses kept whole), and the offset just past its closing ")" (or the text's end)."""
    depth = 1
    i = start
    items: list[str] = []
    while i < len(text) and depth:
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                items.append(text[start:i])
        elif c == "," and depth == 1:
            items.append(text[start:i])
            start = i + 1
        i += 1
    return items, i


def _params(text: str) -> tuple[list[str], int]:
    """Named parameters, and the offset where the header's parameter list ends (0: none)."""
    m = _HEADER.search(text)
    if not m:
        return [], 0
    items, i = _list_items(text, m.end())
    out: list[str] = []
    for item in items:
        words = item.split()
        while words and words[0].lower() in _MODES:
            words.pop(0)
        if len(words) < 2 or words[0].startswith(("@", ":")):
            continue
        if words[1].lower() in _MULTIWORD_TYPE_TAIL or words[1].startswith("("):
            continue  # an unnamed parameter of a multi-word or sized type
        out.append(_name(words[0]))
    return out, i


def _declarations(section: str) -> list[str]:
    out: list[str] = []
    for piece in section.split(";"):
        piece = piece.strip()
        if not piece:
            continue
        words = piece.split(None, 1)
        first = words[0].lower()
        if first == "declare":
            if len(words) < 2:
                continue
            piece = words[1]
            words = piece.split(None, 1)
            first = words[0].lower()
        if first in _STATEMENT_WORDS:
            break
        if first in _SKIP_DECL:
            continue
        if first == "cursor" and len(words) > 1:
            piece = words[1]
        m = _NAMES.match(piece)
        if m:
            out.extend(_name(n) for n in m.group(1).split(",") if not n.strip().startswith(("@", ":")))
    return out


def declared_names(definition: str, *, routine: bool = True) -> frozenset[str]:
    """Parameter, variable, cursor and loop-variable names of one routine (`routine`: the text
    starts with its CREATE header) or of a block/script (DECLARE sections only)."""
    if not definition:
        return frozenset()
    text = _clean(definition)
    names: list[str] = []
    if routine:
        names, after = _params(text)
        m = _HEADER_AS.search(text, after)
        b0 = _BEGIN.search(text, after)
        if m and (
            b0 is None or m.start() < b0.start()
        ):  # Oracle `IS|AS decls BEGIN`; elsewhere the first piece is a statement or DECLARE
            b = _BEGIN.search(text, m.end())
            names.extend(_declarations(text[m.end() : b.start() if b else len(text)]))
    pos = 0
    while True:
        m = _DECLARE.search(text, pos)
        if not m:
            break
        b = _BEGIN.search(text, m.end())
        end = b.start() if b else len(text)
        names.extend(_declarations(text[m.start() : end]))
        pos = max(m.end(), end)
    if routine and _TRIGGER.search(text[:2000]):
        names.extend(trigger_records(definition))
        c = _COMPOUND.search(text)
        if c:  # an Oracle compound trigger's declarations, shared by its timing points
            t = _TIMING_POINT.search(text, c.end())
            names.extend(_declarations(text[c.end() : t.start() if t else len(text)]))
    names.extend(_name(n) for n in _LOOP_VAR.findall(text))
    names.extend(_name(n) for n in _LET.findall(text))
    return frozenset(n for n in names if n and n not in _STATEMENT_WORDS)


_TSQL_HEADER = re.compile(
    r"\b(?:FUNCTION|PROCEDURE|PROC)\s+(?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\])"
    r"(?:\s*\.\s*(?:[\w$#]+|\"[^\"]+\"|\[[^\]]+\]))*(?:\s*;\s*\d+)?\s*(?=@)",
    re.I,
)
_TSQL_HEADER_END = re.compile(r"\b(?:AS|WITH|FOR)\b", re.I)


def parameters(definition: str) -> tuple[str, ...]:
    """A routine's named parameters, in order (those a call gives values to, by position or by
    name), T-SQL `@name` parameters included (listed with or without parentheses)."""
    text = _clean(definition[:20_000])
    m = _HEADER.search(text)
    t = _TSQL_HEADER.search(text)
    items: list[str] = []
    if m and (t is None or m.start() <= t.start()):
        items, _ = _list_items(text, m.end())
    elif t:  # CREATE PROC p @a INT = 1 OUTPUT, @b ... [WITH options] AS
        stop = _TSQL_HEADER_END.search(text, t.end())
        items, _ = _list_items(text[: stop.start() if stop else len(text)] + ")", t.end())
    out: list[str] = []
    for item in items:
        words = item.split()
        while words and words[0].lower() in _MODES:
            words.pop(0)
        if len(words) < 2 or words[0].startswith(":"):
            continue
        if words[1].lower() in _MULTIWORD_TYPE_TAIL or words[1].startswith("("):
            continue  # an unnamed parameter of a multi-word or sized type
        out.append(words[0].lower() if words[0].startswith("@") else _name(words[0]))
    return tuple(out)


def trigger_table(definition: str) -> str | None:
    """The table a `CREATE TRIGGER ... ON t` fires on, as written (None for other routines)."""
    m = _TRIGGER_ON.search(_clean(definition[:5000]))
    return re.sub(r"\s+", "", m.group(1)) if m else None


_PSEUDO_TABLES = ("inserted", "deleted")


def trigger_pseudo_tables(dialect: str) -> tuple[str, ...]:
    """Names a trigger's body reads as tables holding its affected rows: T-SQL's `inserted`
    and `deleted` (the rows of the table it fires on); () in other dialects."""
    return _PSEUDO_TABLES if dialect in ("tsql", "fabric") else ()


def trigger_records(definition: str) -> tuple[str, ...]:
    """Names of a trigger's row records: new, old and their REFERENCING aliases."""
    m = _REFERENCING.search(_clean(definition[:5000]))
    aliases = tuple(_name(a) for a in _ROW_ALIAS.findall(m.group(1))) if m else ()
    return ("new", "old", *aliases)


def result_columns(definition: str) -> tuple[str, ...]:
    """The columns of a function's `RETURNS TABLE (name type, ...)` result, in order (PostgreSQL
    and others); () for routines that return no table."""
    rows = returned_rows(definition)
    return rows[0] if rows else ()


def returned_rows(definition: str) -> tuple[tuple[str, ...], str] | None:
    """How a function returns rows: (its declared result columns, in order, or () when they are
    the outputs of its query: T-SQL inline `RETURNS TABLE`, `RETURNS SETOF type`; the T-SQL table
    variable of `RETURNS @t TABLE (...)` holding them, or ""). None: it returns no rows."""
    text = _clean(definition[:20_000])
    _, after = _params(text)
    if not after:
        return None
    m = _RETURNS_ROWS.search(text, after)
    if not m or _BODY_START.search(text, after, m.start()):
        return None  # not in the header (the body starts first)
    setof = m.group("setof")
    if setof is not None and setof.strip('"').lower() in _SCALAR_SETOF:
        return None
    if not m.group("list"):
        return (), ""  # T-SQL inline RETURNS TABLE, SETOF a table or composite type
    items, _ = _list_items(text, m.end())
    names = [item.split() for item in items]
    return tuple(_name(w[0]) for w in names if len(w) >= 2), (m.group("var") or "").lower()
