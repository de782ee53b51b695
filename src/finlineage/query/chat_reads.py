"""Reads the chat and MCP tools need beyond the graph walks: ingestion health, the statements
that touch a table (including DELETE/TRUNCATE, which carry no data-flow edge), what a routine
does statement by statement, and original source lines of stored files.

Everything is read from the store in a few bulk queries; source text is always the original
text of the stored file (its content-addressed copy), never regenerated SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.orm import Session

from finlineage.store.blobs import blob_path
from finlineage.store.models import CatalogObject, CodeChunk, File, Repository, TableEdge
from finlineage.store.versions import edge_visibility

__all__ = [
    "FileProblem",
    "ObjectProblem",
    "StatementRef",
    "failed_files",
    "object_problems",
    "routine_statements",
    "source_lines",
    "table_statements",
]

_VERB = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(with\b.*?\)\s*)?(\w+)(?:\s+(\w+))?", re.I | re.S)
ROUTINE_KINDS = ("procedure", "function", "trigger")


def statement_verb(text: str) -> str:
    """The statement kind of a SQL text: insert, update, delete, truncate, merge, select, …"""
    m = _VERB.match(text or "")
    if not m:
        return "statement"
    verb = (m.group(2) or "").lower()
    if verb in ("exec", "execute", "call"):
        return "call"
    if verb == "select" and re.search(r"\binto\s+[#@\w\[\]\".]+\s+from\b", text, re.I):
        return "select into"
    if verb == "create" and m.group(3):
        return f"create {m.group(3).lower()}"
    return verb or "statement"


@dataclass(slots=True)
class FileProblem:
    file_id: int
    path: str
    repository_id: int
    status: str
    error: str | None
    line: int | None = None


@dataclass(slots=True)
class ObjectProblem:
    object_id: int
    canonical_id: str
    kind: str
    file_id: int | None
    path: str | None
    diagnostics: list[dict[str, Any]] = field(default_factory=list)


_LINE_IN_ERROR = re.compile(r"\bline\s*[:=]?\s*(\d+)", re.I)


def failed_files(
    session: Session, project_id: int, *, repository_id: int | None = None, limit: int = 500
) -> list[FileProblem]:
    """Current files whose ingestion failed (status `error`), with the error and its line when
    the error names one."""
    line_col = getattr(File, "error_line", None)
    stmt = (
        select(
            File.id,
            File.path,
            File.repository_id,
            File.status,
            File.error,
            line_col if line_col is not None else literal(None),
        )
        .join(Repository, Repository.id == File.repository_id)
        .where(Repository.project_id == project_id, File.status == "error", File.superseded_by.is_(None))
    )
    if repository_id is not None:
        stmt = stmt.where(File.repository_id == repository_id)
    out: list[FileProblem] = []
    for fid, path, rid, status, error, line in session.execute(
        stmt.order_by(File.path, File.id).limit(limit)
    ):
        m = _LINE_IN_ERROR.search(error or "")
        at = int(line) if line is not None else int(m.group(1)) if m else None
        out.append(FileProblem(int(fid), path, int(rid), status, error, at))
    return out


def object_problems(
    session: Session, project_id: int, *, repository_id: int | None = None, limit: int = 500
) -> list[ObjectProblem]:
    """Objects whose analysis reported diagnostics (code, message, severity, line)."""
    stmt = (
        select(
            CatalogObject.id,
            CatalogObject.canonical_id,
            CatalogObject.kind,
            CatalogObject.file_id,
            File.path,
            CatalogObject.diagnostics,
        )
        .outerjoin(File, File.id == CatalogObject.file_id)
        .where(CatalogObject.project_id == project_id, CatalogObject.diagnostics.is_not(None))
    )
    if repository_id is not None:
        stmt = stmt.where(File.repository_id == repository_id)
    out: list[ObjectProblem] = []
    for oid, canon, kind, fid, path, diags in session.execute(stmt.order_by(CatalogObject.canonical_id)):
        items = [d for d in (diags or []) if isinstance(d, dict)]
        if items:
            out.append(ObjectProblem(int(oid), canon, kind, fid, path, items))
        if len(out) >= limit:
            break
    return out


# --------------------------------------------------------------------------------------
# statements
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class StatementRef:
    verb: str
    file_id: int | None
    path: str | None
    line_start: int | None
    line_end: int | None
    routine_id: int | None = None
    routine: str | None = None
    target_id: int | None = None
    target: str | None = None
    text: str = ""
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)


def _routines_by_file(
    session: Session, file_ids: Sequence[int]
) -> dict[int, list[tuple[int, str, int, int]]]:
    out: dict[int, list[tuple[int, str, int, int]]] = {}
    if not file_ids:
        return out
    for oid, canon, fid, a, b in session.execute(
        select(
            CatalogObject.id,
            CatalogObject.canonical_id,
            CatalogObject.file_id,
            CatalogObject.line_start,
            CatalogObject.line_end,
        ).where(
            CatalogObject.file_id.in_(list(file_ids)),
            CatalogObject.kind.in_(ROUTINE_KINDS),
            CatalogObject.line_start.is_not(None),
        )
    ):
        if fid is None or a is None:
            continue
        start = int(a)
        out.setdefault(int(fid), []).append((int(oid), canon, start, int(b) if b is not None else start))
    return out


def _enclosing(routines: list[tuple[int, str, int, int]], a: int | None) -> tuple[int, str] | None:
    if a is None:
        return None
    best: tuple[int, str, int, int] | None = None
    for r in routines:
        if r[2] <= a <= r[3] and (best is None or r[3] - r[2] < best[3] - best[2]):
            best = r
    return (best[0], best[1]) if best else None


def table_statements(session: Session, object_id: int) -> list[StatementRef]:
    """Every recorded statement whose target is the object (INSERT, UPDATE, MERGE, DELETE,
    TRUNCATE, SELECT INTO, CREATE …) with its file, lines and the routine it runs in."""
    obj = session.get(CatalogObject, object_id)
    if obj is None:
        return []
    rows = list(
        session.execute(
            select(CodeChunk.file_id, CodeChunk.line_start, CodeChunk.line_end, CodeChunk.text, File.path)
            .outerjoin(File, File.id == CodeChunk.file_id)
            .where(CodeChunk.object_id == object_id)
            .order_by(CodeChunk.file_id, CodeChunk.line_start)
        )
    )
    routines = _routines_by_file(session, sorted({int(r[0]) for r in rows if r[0] is not None}))
    out: list[StatementRef] = []
    seen: set[tuple[Any, ...]] = set()
    for fid, a, b, text, path in rows:
        verb = statement_verb(text)
        if (
            fid == obj.file_id
            and a == obj.line_start
            and verb.startswith("create")
            and obj.kind not in ROUTINE_KINDS
        ):
            verb = "create"  # the definition itself
        key = (fid, a, b)
        if key in seen:
            continue
        seen.add(key)
        encl = _enclosing(routines.get(int(fid), []), a) if fid is not None else None
        if encl is not None and encl[0] == object_id:
            encl = None
        out.append(
            StatementRef(
                verb,
                fid,
                path,
                a,
                b,
                encl[0] if encl else None,
                encl[1] if encl else None,
                object_id,
                obj.canonical_id,
                text,
            )
        )
    return out


def routine_statements(session: Session, routine_id: int) -> list[StatementRef]:
    """The statements of a routine in file order, each with what it reads and writes (from the
    table edges it runs as their process) and the routines it calls."""
    obj = session.get(CatalogObject, routine_id)
    if obj is None or obj.file_id is None or obj.line_start is None:
        return []
    a0, b0 = obj.line_start, obj.line_end or obj.line_start
    chunks = list(
        session.execute(
            select(CodeChunk.line_start, CodeChunk.line_end, CodeChunk.text, CodeChunk.object_id)
            .where(
                CodeChunk.file_id == obj.file_id,
                CodeChunk.line_start >= a0,
                CodeChunk.line_end <= b0,
                # not the routine's own definition (the whole span)
                or_(CodeChunk.line_start != a0, CodeChunk.line_end != b0),
            )
            .order_by(CodeChunk.line_start, CodeChunk.line_end)
        )
    )
    src = CatalogObject.__table__.alias("s")
    tgt = CatalogObject.__table__.alias("t")
    edges = list(
        session.execute(
            select(
                TableEdge.line_start,
                TableEdge.line_end,
                src.c.canonical_id,
                tgt.c.canonical_id,
                TableEdge.expression,
            )
            .join(src, src.c.id == TableEdge.source_object_id)
            .join(tgt, tgt.c.id == TableEdge.target_object_id)
            .where(
                and_(TableEdge.process_object_id == routine_id, edge_visibility(TableEdge)),
            )
        )
    )
    path = session.scalar(select(File.path).where(File.id == obj.file_id))
    out: list[StatementRef] = []
    seen: set[tuple[int | None, int | None]] = set()
    for a, b, text, _owner in chunks:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        st = StatementRef(
            statement_verb(text), obj.file_id, path, a, b, routine_id, obj.canonical_id, text=text
        )
        for ea, _eb, s_name, t_name, expr in edges:
            if ea is None or a is None or not (a <= ea <= (b or a)):
                continue
            if expr and expr.upper().startswith("CALL "):
                if t_name not in st.writes:
                    st.writes.append(t_name)
                st.verb = "call"
                continue
            if s_name not in st.reads:
                st.reads.append(s_name)
            if t_name not in st.writes:
                st.writes.append(t_name)
        out.append(st)
    return out


def source_lines(
    session: Session, data_dir: Path | None, file_id: int | None, line_start: int | None, line_end: int | None
) -> str | None:
    """The original text of lines `line_start..line_end` of a stored file (None when the file
    or its stored copy is unavailable)."""
    if file_id is None or line_start is None or data_dir is None:
        return None
    sha = session.scalar(select(File.sha256).where(File.id == file_id))
    if not sha:
        return None
    path = blob_path(data_dir, sha)
    if not path.is_file():
        return None
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    end = min(len(lines), line_end if line_end is not None else line_start)
    if line_start < 1 or line_start > len(lines):
        return None
    return "\n".join(lines[line_start - 1 : end])
