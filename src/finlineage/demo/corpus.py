"""Light-weight helpers to read a SQL corpus laid out like `demo/`: the `finlineage.toml`
dialect map, a statement splitter, procedural-body DML extraction and a CREATE inventory.

These are deliberately simple (regex/line based) and only meant for the demo corpus, the
synthetic generator and their tests; the real ingestion splitter lives elsewhere.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

__all__ = [
    "CreatedObject",
    "Statement",
    "check_file",
    "created_objects",
    "dialect_for",
    "glob_to_regex",
    "inner_dml",
    "iter_corpus_files",
    "load_dialect_map",
    "split_statements",
]


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    line: int
    procedural: bool
    """True for T-SQL procedures and PL/pgSQL / SQL-bodied functions (`$$ ... $$`)."""


@dataclass(frozen=True, slots=True)
class CreatedObject:
    name: str
    kind: str  # table, view, materialized_view, procedure, function


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a `**`-aware path glob (as used in finlineage.toml) to a regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def load_dialect_map(toml_path: Path) -> dict[str, str]:
    with toml_path.open("rb") as fh:
        data = tomllib.load(fh)
    dialects = data.get("dialects", {})
    return {str(k): str(v) for k, v in dialects.items()}


def dialect_for(rel_path: str, mapping: dict[str, str]) -> str | None:
    """The dialect of the first glob (in file order) matching a `/`-separated relative path."""
    for pattern, dialect in mapping.items():
        if glob_to_regex(pattern).match(rel_path):
            return dialect
    return None


def iter_corpus_files(root: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*.sql")):
        yield path.relative_to(root).as_posix(), path


# --------------------------------------------------------------------------- splitting

_GO = re.compile(r"^[ \t]*GO[ \t]*;?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_TSQL_PROC = re.compile(r"^\s*CREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\b", re.IGNORECASE)
_DOLLAR = re.compile(r"\$([A-Za-z_]\w*)?\$")


def _strip_leading_comments(text: str) -> str:
    while True:
        s = text.lstrip()
        if s.startswith("--"):
            nl = s.find("\n")
            text = "" if nl < 0 else s[nl + 1 :]
        elif s.startswith("/*"):
            end = s.find("*/")
            text = "" if end < 0 else s[end + 2 :]
        else:
            return s


def _split_semicolons(text: str, base_line: int) -> list[tuple[str, int]]:
    """Split on `;` outside quotes, comments and dollar-quoted bodies."""
    out: list[tuple[str, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "'\"`":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if c == "$":
            m = _DOLLAR.match(text, i)
            if m:
                end = text.find(m.group(0), m.end())
                i = n if end < 0 else end + len(m.group(0))
                continue
        if c == ";":
            out.append((text[start:i], start))
            start = i + 1
        i += 1
    out.append((text[start:], start))
    result: list[tuple[str, int]] = []
    for chunk, offset in out:
        body = _strip_leading_comments(chunk)
        if not body.strip():
            continue
        lead = len(chunk) - len(chunk.lstrip())
        line = base_line + text.count("\n", 0, offset + lead)
        result.append((chunk.strip(), line))
    return result


def split_statements(text: str, dialect: str) -> list[Statement]:
    """Split a file into statements. T-SQL: GO batches, a CREATE PROCEDURE batch is one
    procedural statement, other batches split on `;`. Others: split on `;`; statements
    with a dollar-quoted body are procedural."""
    stmts: list[Statement] = []
    if dialect == "tsql":
        pos = 0
        batches: list[tuple[str, int]] = []
        for m in _GO.finditer(text):
            batches.append((text[pos : m.start()], pos))
            pos = m.end()
        batches.append((text[pos:], pos))
        for batch, offset in batches:
            body = _strip_leading_comments(batch)
            if not body.strip():
                continue
            line = 1 + text.count("\n", 0, offset + (len(batch) - len(batch.lstrip())))
            if _TSQL_PROC.match(body):
                stmts.append(Statement(batch.strip(), line, True))
            else:
                for chunk, ln in _split_semicolons(batch, 1 + text.count("\n", 0, offset)):
                    stmts.append(Statement(chunk, ln, False))
        return stmts
    for chunk, ln in _split_semicolons(text, 1):
        procedural = bool(_DOLLAR.search(chunk)) and re.search(r"\bLANGUAGE\b", chunk, re.I) is not None
        stmts.append(Statement(chunk, ln, procedural))
    return stmts


# --------------------------------------------------------------------------- procedural bodies

_DML_START = re.compile(r"^(INSERT|UPDATE|DELETE|MERGE|WITH|SELECT|TRUNCATE)\b", re.IGNORECASE)
_CONTROL = re.compile(
    r"^(IF|ELSE|ELSIF|BEGIN|END|DECLARE|EXEC|EXECUTE|PRINT|RETURN|COMMIT|ROLLBACK|DROP|CREATE|"
    r"THROW|RAISERROR|RAISE|WHILE|BREAK|CONTINUE|PERFORM|GET|LOOP|FOR|REFRESH)\b",
    re.IGNORECASE,
)


def _procedural_body(stmt: Statement) -> str:
    m = _DOLLAR.search(stmt.text)
    if m:
        end = stmt.text.find(m.group(0), m.end())
        return stmt.text[m.end() : end if end >= 0 else len(stmt.text)]
    # T-SQL: everything after the first standalone AS
    am = re.search(r"^\s*AS\s*$|\bAS\s*\n", stmt.text, re.IGNORECASE | re.MULTILINE)
    return stmt.text[am.end() :] if am else stmt.text


def inner_dml(stmt: Statement) -> list[str]:
    """The DML statements inside a procedural body (line-based; a statement ends at `;`, at a
    blank line, or at a control-flow keyword line)."""
    out: list[str] = []
    cur: list[str] | None = None
    depth = 0

    def flush() -> None:
        nonlocal cur, depth
        if cur:
            text = "\n".join(cur).strip().rstrip(";").strip()
            if text:
                out.append(text)
        cur, depth = None, 0

    for raw_line in _procedural_body(stmt).splitlines():
        line = raw_line.split("--", 1)[0].rstrip()
        s = line.strip()
        if not s:
            if cur is not None and depth <= 0:
                flush()
            continue
        if cur is None:
            if _DML_START.match(s):
                cur = []
            else:
                continue
        elif depth <= 0 and _CONTROL.match(s):
            flush()
            if not _DML_START.match(s):
                continue
            cur = []
        assert cur is not None
        cur.append(line)
        depth += s.count("(") - s.count(")")
        if s.endswith(";") and depth <= 0:
            flush()
    flush()
    return out


# --------------------------------------------------------------------------- checks / inventory


def _parse_ok(sql: str, dialect: str) -> str | None:
    try:
        parsed = sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
    except Exception as exc:  # sqlglot raises ParseError/TokenError
        return str(exc).splitlines()[0][:300]
    for e in parsed:
        if e is None:
            continue
        if isinstance(e, exp.Command):
            return f"unsupported syntax (parsed as Command): {sql[:80]!r}"
    return None


def check_file(text: str, dialect: str) -> list[str]:
    """Problems found: plain statements must parse in `dialect`; each DML inside a procedural
    body must parse on its own."""
    problems: list[str] = []
    for st in split_statements(text, dialect):
        if st.procedural:
            dml = inner_dml(st)
            if not dml:
                problems.append(f"line {st.line}: procedural body without DML")
            for d in dml:
                err = _parse_ok(d, dialect)
                if err:
                    problems.append(f"line {st.line} (inner DML): {err}")
        else:
            err = _parse_ok(st.text, dialect)
            if err:
                problems.append(f"line {st.line}: {err}")
    return problems


_CREATE = re.compile(
    r"\bCREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:(TEMP|TEMPORARY|GLOBAL\s+TEMPORARY)\s+)?"
    r"(?:SECURE\s+)?(MATERIALIZED\s+VIEW|TABLE|VIEW|PROCEDURE|PROC|FUNCTION)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?([#\w\[\]\"`.]+)",
    re.IGNORECASE,
)
_KINDS = {
    "table": "table",
    "view": "view",
    "procedure": "procedure",
    "proc": "procedure",
    "function": "function",
}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", "", text)


def created_objects(text: str) -> list[CreatedObject]:
    """Persistent objects CREATEd at statement level (temp tables, `#t` and nested CREATEs
    inside procedure bodies are ignored)."""
    found: list[CreatedObject] = []
    for st_text in _top_level_creates(text):
        m = _CREATE.match(st_text)
        if not m or m.group(1):
            continue
        name = re.sub(r"[\[\]\"`]", "", m.group(3)).lower()
        if name.startswith("#"):
            continue
        kind_word = re.sub(r"\s+", " ", m.group(2).lower())
        kind = "materialized_view" if kind_word.startswith("materialized") else _KINDS[kind_word]
        found.append(CreatedObject(name, kind))
    return found


def _top_level_creates(text: str) -> Iterator[str]:
    clean = _strip_comments(text)
    for chunk in _GO.split(clean):
        for stmt, _ in _split_semicolons(chunk, 1):
            s = stmt.lstrip()
            if s[:6].upper() == "CREATE":
                yield s
