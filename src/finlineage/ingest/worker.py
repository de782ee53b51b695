"""Code that runs inside the parse process pool: SQL text in, plain picklable facts out.

`parse_file` calls the engine and turns its `LineageResult` into store-ready facts:

* every statement's span (true 1-based lines of the original file), kind and routine: the
  evidence every edge points at;
* column edges come from the engine's script rollup (temporary tables, table variables, CTEs and
  sequential writes of a routine already collapsed, with the composed `formula` and the `steps`
  that contributed); each is stored at its last step's statement. Table edges are the
  statements' own reads/writes with temporary tables passed through;
* a routine's `EXEC`/`CALL` becomes a table-level edge caller → callee with kind `indirect` and
  expression `CALL <callee>` (control flow, not data flow);
* parse errors (`FAILURE_CODES`) are listed in `errors`: the file is stored with status `error`
  while the facts of the statements that parsed are kept;
* one code chunk per object definition and one per statement not identical to a definition.
"""

from __future__ import annotations

import os
import re
from typing import Any

from finlineage.lineage.names import split_column_ref
from finlineage.lineage.rollup import table_flows

MAX_CHUNK_CHARS = 20_000
_SCHEMA_CODES = frozenset({"star_without_schema", "unresolved_column", "ambiguous_column"})
FAILURE_CODES = frozenset({"parse_error", "too_large", "too_complex"})
"""Diagnostics that mean a statement's text could not be read: the file fails. Constructs that
parse but cannot be analysed (dynamic SQL, unsupported statements) stay diagnostics only."""


_DEFAULT_SUBTYPE = {"direct": "TRANSFORMATION", "indirect": "FILTER"}
"""Subtype of a column edge the engine left without one (every stored column edge has one): a
computed value for a direct edge (never claimed a copy or an aggregate), rows shaped by the
column for an indirect one."""


def _is_temp(name: str, temps: set[str]) -> bool:
    return name in temps or name.startswith(("#", "@"))


def _split_col(ref: str, tables: set[str]) -> tuple[str, str] | None:
    """(table, column) of a column reference; a nested field path stays in the column
    (`ds.t.addr.city` → `ds.t`, `addr.city` when `ds.t` is one of ``tables``)."""
    table, col = split_column_ref(ref, _prefixes_in(ref, tables))
    if not table or not col:
        return None
    return table, col


def _prefixes_in(ref: str, tables: set[str]) -> list[str]:
    parts = ref.split(".")
    return [p for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p in tables]


def _diag(d: Any) -> dict[str, Any]:
    return {
        "code": d.code,
        "message": d.message,
        "severity": d.severity,
        "line": d.line,
        "column": getattr(d, "column", None),
        "statement_index": d.statement_index,
    }


def parse_file(
    text: str,
    dialect: str,
    schema: dict[str, dict[str, str | None]] | None,
    timeout: float,
) -> dict[str, Any]:
    """Parse one file; never raises for bad SQL (the engine reports diagnostics)."""
    from finlineage.lineage import extract

    result = extract(text, dialect, schema=schema or None, statement_timeout=timeout)
    return facts_from_result(result)


def facts_from_result(result: Any) -> dict[str, Any]:
    temps: set[str] = set()
    for st in result.statements:
        temps.update(st.temporary_tables)
    for obj in result.objects:
        if obj.is_temporary:
            temps.add(obj.name)

    objects: list[dict[str, Any]] = []
    spans: set[tuple[int, int]] = set()
    defined: dict[str, str] = {}
    for obj in result.objects:
        if not obj.name or _is_temp(obj.name, temps):
            continue
        defined[obj.name] = obj.kind
        spans.add((obj.line_start, obj.line_end))
        objects.append(
            {
                "canonical": obj.name,
                "kind": obj.kind if obj.kind != "external" else "table",
                "columns": [(c.name, c.ordinal, c.data_type) for c in obj.columns],
                "line_start": obj.line_start,
                "line_end": obj.line_end,
                "definition": obj.definition,
            }
        )

    diagnostics = [_diag(d) for d in result.diagnostics]
    table_edges: dict[tuple[str, str, str, int], tuple[Any, ...]] = {}
    referenced: set[str] = set()
    chunks: list[tuple[str | None, int, int, str]] = []
    statements: list[tuple[int, int, int, str, str | None, str | None, str | None]] = []
    span_owner = {(o["line_start"], o["line_end"]): o["canonical"] for o in objects}
    by_index: dict[int, Any] = {}

    for st in result.statements:
        by_index[st.index] = st
        diagnostics.extend(_diag(d) for d in st.diagnostics)
        process = st.process if st.process in defined else None
        defines = span_owner.get((st.line_start, st.line_end))
        target = st.target_tables[0][:700] if st.target_tables else None
        statements.append((st.index, st.line_start, st.line_end, st.type[:32], process, defines, target))
        prov = (st.index, st.line_start, st.line_end, process)
        referenced.update(t for t in (*st.source_tables, *st.target_tables) if not _is_temp(t, temps))
        if process is not None:
            for callee in st.calls:
                if callee and not _is_temp(callee, temps):
                    key = (process, callee, "indirect", st.index)
                    table_edges.setdefault(key, (process, callee, "indirect", f"CALL {callee}", 1.0, *prov))
                    referenced.add(callee)
        if st.sql and (st.line_start, st.line_end) not in spans:
            owner = next((t for t in st.target_tables if not _is_temp(t, temps)), None) or process
            chunks.append((owner, st.line_start, st.line_end, st.sql[:MAX_CHUNK_CHARS]))

    # table-level flow with temporary tables collapsed: the engine's rollup rule, per statement
    scoped = temps | {
        t for st in result.statements for t in (*st.source_tables, *st.target_tables) if _is_temp(t, temps)
    }
    for src, tgt, index in table_flows(result.statements, scoped):  # never names a scoped table
        st = by_index[index]
        process = st.process if st.process in defined else None
        prov = (st.index, st.line_start, st.line_end, process)
        table_edges.setdefault((src, tgt, "direct", index), (src, tgt, "direct", "", 1.0, *prov))
    known = set(defined) | referenced
    column_edges = _rollup_edges(result, temps, defined, by_index, known | temps)
    for obj in objects:
        if obj["definition"]:
            chunks.append(
                (obj["canonical"], obj["line_start"], obj["line_end"], obj["definition"][:MAX_CHUNK_CHARS])
            )
    needs_schema = any(d["code"] in _SCHEMA_CODES for d in diagnostics)
    errors = [d for d in diagnostics if d["severity"] == "error" and d["code"] in FAILURE_CODES]
    errors.sort(key=lambda d: (d["line"] is None, d["line"] or 0, d["column"] or 0))
    return {
        "dialect": result.dialect,
        "objects": objects,
        "statements": statements,
        "table_edges": list(table_edges.values()),
        "column_edges": column_edges,
        "chunks": chunks,
        "diagnostics": diagnostics,
        "errors": errors,
        "referenced": sorted(referenced - set(defined)),
        # read with their columns unknown: re-resolved when a file declares those columns
        "unknown_functions": sorted(
            {f for st in result.statements for f in st.unknown_functions} - set(defined)
        ),
        "tables": sorted(known),
        "needs_schema": needs_schema,
    }


def _rollup_edges(
    result: Any, temps: set[str], defined: dict[str, str], by_index: dict[int, Any], tables: set[str]
) -> list[tuple[Any, ...]]:
    """One row per (source column, rollup edge): ``(source, target, kind, expression, confidence,
    statement_index, line_start, line_end, process, subtype, formula, steps)``, provenance at the
    edge's last contributing statement."""
    out: dict[tuple[str, str, str, str, int], tuple[Any, ...]] = {}
    split_cache: dict[str, tuple[str, str] | None] = {}  # a column appears in many edges

    def split(ref: str) -> tuple[str, str] | None:
        if ref not in split_cache:
            split_cache[ref] = _split_col(ref, tables)
        return split_cache[ref]

    for e in result.rollup.column_edges:
        tgt = split(e.target)
        if tgt is None or _is_temp(tgt[0], temps):
            continue
        steps = tuple(i for i in e.steps if i in by_index) or _writers(e.target, by_index)
        if not steps:
            continue
        step_text = " ".join(str(i) for i in steps)
        for src in e.sources:
            sc = split(src)
            if sc is None or _is_temp(sc[0], temps) or src == e.target:
                continue
            st = by_index[e.steps[-1]] if e.steps else _writer_of(src, e.target, steps, by_index)
            process = st.process if st.process in defined else None
            key = (src, e.target, e.kind, e.subtype, st.index)
            if key in out:
                continue
            out[key] = (
                src,
                e.target,
                e.kind,
                e.expression or "",
                e.confidence,
                st.index,
                st.line_start,
                st.line_end,
                process,
                e.subtype or _DEFAULT_SUBTYPE.get(e.kind, "TRANSFORMATION"),
                e.formula or "",
                step_text,
            )
    return list(out.values())


def _writers(target: str, by_index: dict[int, Any]) -> tuple[int, ...]:
    """Statements with an edge into ``target`` (for rollup edges that carry no steps)."""
    return tuple(i for i, st in by_index.items() if any(ce.target == target for ce in st.column_edges))


def _writer_of(source: str, target: str, steps: tuple[int, ...], by_index: dict[int, Any]) -> Any:
    """The last of ``steps`` whose edge into ``target`` reads ``source`` (else the last step)."""
    for i in reversed(steps):
        if any(ce.target == target and source in ce.sources for ce in by_index[i].column_edges):
            return by_index[i]
    return by_index[steps[-1]]


# --------------------------------------------------------------------------------------
# cheap pre-scan (main process): identifier tokens and the names a file defines
# --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_$#@]*")
_DEFINES = re.compile(
    r"\bCREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|TRANSIENT|VOLATILE|"
    r"SECURE|RECURSIVE|MATERIALIZED|EXTERNAL|UNLOGGED|MULTISET|SET)\s+)*(?:TABLE|VIEW)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?([\w$#@\"\[\]`.]+)",
    re.IGNORECASE,
)


def tokens(text: str) -> set[str]:
    return {m.lower() for m in _TOKEN.findall(text)}


def defined_names(text: str) -> set[str]:
    """Lower-cased last name part of every table/view a file (probably) creates."""
    out: set[str] = set()
    for m in _DEFINES.finditer(text):
        name = m.group(1).replace('"', "").replace("[", "").replace("]", "").replace("`", "")
        last = name.rsplit(".", 1)[-1].lower()
        if last and not last.startswith(("#", "@")):
            out.add(last)
    return out


PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = 9) -> None:
    """Linux: deliver `sig` (SIGKILL) to this process when its parent dies, kill -9 included. For a
    child exec'd from a thread that outlives it (git clones): the signal follows the forking thread."""
    import contextlib
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)


def watch_parent(interval_s: float = 0.5) -> None:
    """Exit as soon as the parent process is gone (reparented), kill -9 of the parent included.
    Pool workers use a watch rather than the parent-death signal: that signal follows the thread
    that spawned the worker, and pools are grown from short-lived threads too."""
    import threading
    import time

    parent = os.getppid()

    def _watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=_watch, name="parent-watch", daemon=True).start()


def worker_init() -> None:
    """Pool initializer: die with the server (kill -9 included), keep parse workers from competing
    with the API for the CPU, and keep sqlglot's parser warnings off the console."""
    import contextlib
    import logging

    watch_parent()
    with contextlib.suppress(OSError):
        os.nice(5)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    from finlineage.lineage import extract  # warm import

    _ = extract
