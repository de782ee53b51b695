"""Split SQL scripts (including procedural SQL) into independently parseable statements.

First version: splits on top-level semicolons only. Procedural handling follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from finlineage.lineage.model import Diagnostic, ObjectDefinition

__all__ = ["Segment", "SplitResult", "split_script"]


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
    diagnostics: tuple[Diagnostic, ...]


_LEX = re.compile(
    r"""--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z)|\$\$.*?(?:\$\$|\Z)|;|[^;'"\-/$]+|.""",
    re.S,
)


def split_script(sql: str, dialect: str) -> SplitResult:
    segments: list[Segment] = []
    start = 0
    for m in _LEX.finditer(sql):
        if m.group() == ";":
            _add(segments, sql, start, m.start())
            start = m.end()
    _add(segments, sql, start, len(sql))
    return SplitResult(tuple(segments), (), ())


def _add(out: list[Segment], sql: str, a: int, b: int) -> None:
    text = sql[a:b]
    stripped = text.strip()
    if not stripped:
        return
    lead = len(text) - len(text.lstrip())
    line_start = sql.count("\n", 0, a + lead) + 1
    line_end = line_start + stripped.count("\n")
    out.append(Segment(stripped, line_start, line_end))
