"""The lineage tools: one set of reads, shared by the offline engine, the LLM's function calls
and the MCP server.

Every tool reads through `finlineage.query` (one traversal with one set of defaults — full depth,
explicit truncation —, one shortest path, impact, explain, files, search) and returns JSON-ready
dicts with evidence: the file, the lines and the original source text of every edge it reports.

Names: object tools take `name`, a qualified object (`schema.table`) or column
(`schema.table.column`), or a bare name; `resolve` says when a name is ambiguous (every
candidate) or unknown (what was searched, nearest names).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage.chat.lexicon import is_report_name, tokens_of
from finlineage.chat.linking import linker_for
from finlineage.chat.vocab import ROUTINE_KINDS, Vocab
from finlineage.query import chat_reads
from finlineage.query import explain as q_explain
from finlineage.query import lineage as q_lineage
from finlineage.query.common import PageParams, Scope
from finlineage.query.errors import QueryError
from finlineage.query.schemas import Granularity, GraphEdge, GraphOut
from finlineage.store.models import File, Repository

__all__ = ["TOOL_SPECS", "LineageTools"]

MAX_ITEMS = 200
"""Lists in a tool answer are capped here; `omitted` says how many more there were."""


def _depth_arg(depth: int | str | None) -> int | None:
    """A tool's `depth`: nothing or `all` is None, the query layer's full closure (as the API's
    `depth=all`); a number of hops is passed on (the query layer checks it)."""
    if depth is None or str(depth).strip().lower() in ("", "all", "none", "full"):
        return None
    return int(depth)


def _lines(a: int | None, b: int | None) -> list[int] | None:
    return None if a is None else [a, b if b is not None else a]


class Unresolved(Exception):
    """A name matched nothing (or several things); `info` is the tool's JSON answer."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info.get("message", "unresolved"))
        self.info = info


class LineageTools:
    """The tools over one project (and optionally one repository) in one session."""

    def __init__(
        self,
        session: Session,
        vocab: Vocab,
        *,
        data_dir: Path | None = None,
        repository_id: int | None = None,
        with_text: bool = True,
        node_cap: int | None = None,
    ) -> None:
        self.s = session
        self.node_cap = int(node_cap) if node_cap is not None else q_lineage.MAX_NODES
        """Most nodes one walk returns: the `walk_node_cap` setting, as the API's walks."""
        self.with_text = with_text
        """Attach the original source text to every edge (off for prose that cites file:line)."""
        self.v = vocab
        self.pid = vocab.project_id
        self.data_dir = data_dir
        self.repository_id = repository_id
        self._texts: dict[int, list[str] | None] = {}

    # ------------------------------------------------------------------ evidence
    def source_text(self, file_id: int | None, a: int | None, b: int | None) -> str | None:
        if file_id is None or a is None or self.data_dir is None:
            return None
        if file_id not in self._texts:
            text = chat_reads.source_lines(self.s, self.data_dir, file_id, 1, 10**9)
            self._texts[file_id] = text.splitlines() if text is not None else None
        lines = self._texts[file_id]
        if lines is None or a < 1 or a > len(lines):
            return None
        return "\n".join(lines[a - 1 : (b or a)])

    def edge(self, e: GraphEdge, granularity: str) -> dict[str, Any]:
        text = getattr(e, "source_text", None)
        if text is None and self.with_text:
            text = self.source_text(e.file_id, e.line_start, e.line_end)
        out: dict[str, Any] = {
            "id": e.id,
            "granularity": granularity,
            "source": e.source_canonical_id,
            "target": e.target_canonical_id,
            "source_id": e.source,
            "target_id": e.target,
            "kind": e.kind,
            "expression": e.expression,
            "via": e.process,
            "file": e.file,
            "file_id": e.file_id,
            "lines": _lines(e.line_start, e.line_end),
            "source_text": text,
        }
        for extra in ("subtype", "formula"):
            val = getattr(e, extra, None)
            if val:
                out[extra] = val
        return out

    def obj_ref(self, oid: int, hop: int | None = None) -> dict[str, Any]:
        o = self.v.objects[oid]
        out: dict[str, Any] = {
            "type": "object",
            "id": oid,
            "name": o.canonical_id,
            "kind": o.kind,
            "file": self.v.file_of(oid),
            "lines": _lines(o.line_start, o.line_end),
        }
        if hop is not None:
            out["hop"] = hop
        return out

    def col_ref(self, cid: int, hop: int | None = None) -> dict[str, Any]:
        c = self.v.columns[cid]
        out: dict[str, Any] = {
            "type": "column",
            "id": cid,
            "object_id": c.object_id,
            "name": self.v.col_label(cid),
            "kind": "column",
            "object_kind": self.v.objects[c.object_id].kind,
        }
        if hop is not None:
            out["hop"] = hop
        return out

    # ------------------------------------------------------------------ names
    def resolve(self, name: str) -> list[dict[str, Any]]:
        """Candidates for a name: exact qualified object or column first, then every object or
        column with that bare name, then the linker on free text. Raises `Unresolved` when
        nothing matches (with the nearest names)."""
        v = self.v
        n = name.strip().strip('`"[]').lower()
        n = n.replace("[", "").replace("]", "").replace('"', "")
        allowed = v.restrict(self.repository_id)
        refs: list[dict[str, Any]] = []
        if n in v.by_canonical:
            refs.append(self.obj_ref(v.by_canonical[n]))
        else:
            obj, _, col = n.rpartition(".")
            if obj and obj in v.by_canonical and (v.by_canonical[obj], col) in v.col_by_object_name:
                refs.append(self.col_ref(v.col_by_object_name[(v.by_canonical[obj], col)]))
            elif obj and obj in v.by_name:
                for oid in v.by_name[obj]:
                    if (oid, col) in v.col_by_object_name:
                        refs.append(self.col_ref(v.col_by_object_name[(oid, col)]))
            if not refs and "." not in n:
                objs = [i for i in v.by_name.get(n, []) if v.objects[i].kind != "external"] or list(
                    v.by_name.get(n, [])
                )
                refs.extend(self.obj_ref(i) for i in objs)
                if not refs:
                    refs.extend(self.col_ref(c) for c in v.cols_by_name.get(n, []))
            if not refs:
                linked = linker_for(v).link(name)
                for ent in linked.ordered():
                    if ent.kind == "object":
                        refs.extend(self.obj_ref(int(i)) for i in ent.ids)
                    elif ent.kind == "column":
                        refs.extend(self.col_ref(int(i)) for i in ent.ids)
                    if refs:
                        break
        if allowed is not None:
            refs = [r for r in refs if (r["id"] if r["type"] == "object" else r["object_id"]) in allowed]
        if not refs:
            raise Unresolved(self.unknown(name))
        return refs

    def unknown(self, name: str) -> dict[str, Any]:
        return {
            "found": False,
            "name": name,
            "message": f"nothing named {name!r} in project {self.v.project_name!r}",
            "searched": "object names (schema.name and bare), column names (object.column and bare), "
            "abbreviations and descriptions",
            "suggestions": self.nearest(name),
        }

    def nearest(self, name: str, n: int = 5) -> list[str]:
        v = self.v
        key = name.strip().lower()
        last = key.rsplit(".", 1)[-1]
        pool_obj = list(v.by_canonical)
        out = difflib.get_close_matches(key, pool_obj, n=n, cutoff=0.6)
        out += [
            v.objects[i].canonical_id
            for m in difflib.get_close_matches(last, list(v.by_name), n=n, cutoff=0.6)
            for i in v.by_name[m][:2]
        ]
        out += [
            v.col_label(c)
            for m in difflib.get_close_matches(last, list(v.cols_by_name), n=n, cutoff=0.7)
            for c in v.cols_by_name[m][:2]
        ]
        # names sharing words (or their abbreviations) with the one asked for
        words = [w for w in tokens_of(key) if len(w) >= 3]
        if words:
            forms = [v.lexicon.forms(w) for w in words]
            scored: list[tuple[int, str]] = []
            for o in v.objects.values():
                if o.kind == "external":
                    continue
                toks = set(tokens_of(o.name)) | set(tokens_of(o.schema or ""))
                hits = sum(1 for f in forms if f & toks)
                if hits:
                    scored.append((-hits, o.canonical_id))
            cscored: list[tuple[int, str]] = []
            for c in v.columns.values():
                toks = set(tokens_of(c.name))
                hits = sum(1 for f in forms if f & toks)
                if hits:
                    cscored.append((-hits, v.col_label(c.id)))
            out += [name for _, name in sorted(scored + cscored)[:n]]
        return list(dict.fromkeys(x for x in out))[:n]

    def _one(self, name: str) -> dict[str, Any]:
        refs = self.resolve(name)
        if len(refs) > 1:
            raise Unresolved(
                {
                    "found": True,
                    "ambiguous": True,
                    "name": name,
                    "message": f"{name!r} matches {len(refs)} objects or columns; ask with a qualified name",
                    "candidates": [r["name"] for r in refs],
                }
            )
        return refs[0]

    def guarded(self, fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Run a tool; unknown/ambiguous names and query errors become JSON answers."""
        try:
            return fn(*args, **kwargs)
        except Unresolved as exc:
            return exc.info
        except QueryError as exc:
            return {"found": False, "error": exc.code, "message": exc.message, "details": exc.details}

    # ------------------------------------------------------------------ walks
    def walk(
        self,
        ref: dict[str, Any],
        direction: str,
        depth: int | str | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> GraphOut:
        """The API's walk with the API's defaults: ``kinds`` None is the query layer's default
        for a walk from a column or an object (`query.lineage.walk_kinds`)."""
        start: Literal["node", "column"] = "column" if ref["type"] == "column" else "node"
        kw: dict[str, Any] = {
            "project_id": self.pid,
            "depth": _depth_arg(depth),
            "kinds": q_lineage.walk_kinds(start, kinds),
            "max_nodes": self.node_cap,
        }
        if start == "column":
            return q_lineage.column_lineage(self.s, ref["id"], direction, **kw)  # type: ignore[arg-type]
        return q_lineage.node_lineage(self.s, ref["id"], direction, granularity="table", **kw)  # type: ignore[arg-type]

    def _walk_json(
        self,
        ref: dict[str, Any],
        direction: str,
        depth: int | str | None,
        kinds: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        gran = "column" if ref["type"] == "column" else "table"
        default = q_lineage.walk_kinds("column" if gran == "column" else "node")
        out = self.walk(ref, direction, depth, kinds)
        if kinds and set(kinds) != set(default) and len(out.nodes) <= 1:
            out, kinds = self.walk(ref, direction, depth), None  # nothing along these: the default
        kinds = tuple(kinds) if kinds else default
        nodes = [n for n in out.nodes if n.hop > 0]
        edges = [e for e in out.edges if not (e.expression or "").upper().startswith("CALL ")]
        shown_nodes = nodes[:MAX_ITEMS]
        shown_edges = edges[: MAX_ITEMS * 2]
        return {
            "found": True,
            "subject": ref,
            "direction": direction,
            "granularity": gran,
            "depth": "all" if depth in (None, "all") else depth,
            "edge_kinds": list(kinds),
            "nodes": [
                {
                    "id": n.id,
                    "name": n.canonical_id,
                    "kind": n.kind,
                    "object_id": n.object_id,
                    "hop": n.hop,
                    "file": n.file,
                    "lines": _lines(n.line_start, n.line_end),
                }
                for n in shown_nodes
            ],
            "edges": [self.edge(e, gran) for e in shown_edges],
            "truncated": bool(out.truncated)
            or len(nodes) > len(shown_nodes)
            or len(edges) > len(shown_edges),
            "omitted": int(getattr(out, "omitted", 0) or 0) + max(0, len(nodes) - len(shown_nodes)),
        }

    def _one_hop(
        self, oid: int, direction: Literal["upstream", "downstream"], granularity: Granularity
    ) -> GraphOut:
        """An object's neighbours one hop away (the API's node walk, at the configured node cap)."""
        return q_lineage.node_lineage(
            self.s,
            oid,
            direction,
            depth=1,
            granularity=granularity,
            project_id=self.pid,
            max_nodes=self.node_cap,
        )

    def column_edges_into(self, oid: int) -> list[dict[str, Any]]:
        """The column edges that load an object's columns (one hop, every column)."""
        out = self._one_hop(oid, "upstream", "column")
        roots = {r.id for r in out.roots} or {c for c in self.v.cols_by_object.get(oid, [])}
        return [self.edge(e, "column") for e in out.edges if e.target in roots]

    def upstream(self, name: str, depth: int | str | None = None, data_only: bool = False) -> dict[str, Any]:
        return self._walk_json(
            self._one(name), "upstream", depth, q_lineage.DATA_FLOW_KINDS if data_only else None
        )

    def downstream(
        self, name: str, depth: int | str | None = None, data_only: bool = False
    ) -> dict[str, Any]:
        return self._walk_json(
            self._one(name), "downstream", depth, q_lineage.DATA_FLOW_KINDS if data_only else None
        )

    def impact(self, name: str, depth: int | str | None = None, data_only: bool = False) -> dict[str, Any]:
        """Everything downstream, grouped by kind and hop (objects; for a column, the columns
        and the objects that hold them; `data_only`: values flow, not join/filter use)."""
        ref = self._one(name)
        res = self._walk_json(ref, "downstream", depth, q_lineage.DATA_FLOW_KINDS if data_only else None)
        groups: dict[tuple[int, str], list[str]] = defaultdict(list)
        objects: dict[int, int] = {}
        for n in res["nodes"]:
            oid = n["object_id"]
            if oid is not None and (oid not in objects or n["hop"] < objects[oid]):
                objects[oid] = n["hop"]
        for oid, hop in objects.items():
            if oid in self.v.objects and (ref["type"] == "column" or oid != ref["id"]):
                groups[(hop, self.v.objects[oid].kind)].append(self.v.objects[oid].canonical_id)
        res["groups"] = [
            {"hop": hop, "kind": kind, "count": len(names), "objects": sorted(names)}
            for (hop, kind), names in sorted(groups.items())
        ]
        res["total_objects"] = sum(len(v) for v in groups.values())
        res["by_kind"] = {
            k: sum(len(n) for (h, kk), n in groups.items() if kk == k) for k in sorted({k for _, k in groups})
        }
        return res

    def reports(self, name: str, depth: int | str | None = None) -> dict[str, Any]:
        """Downstream objects that are reports: a report naming convention in schema or name, or
        nothing downstream of them (end consumers); routines excluded."""
        res = self.impact(name, depth)
        hits = []
        seen: set[int] = set()
        for n in res["nodes"]:
            oid = n["object_id"]
            if oid is None or oid in seen or oid not in self.v.objects:
                continue
            seen.add(oid)
            o = self.v.objects[oid]
            if o.kind in ROUTINE_KINDS or (
                res["subject"]["type"] == "object" and oid == res["subject"]["id"]
            ):
                continue
            conv = is_report_name(o.schema, o.name)
            sink = o.n_out == 0
            if conv or sink:
                hits.append(
                    {**self.obj_ref(oid, n["hop"]), "why": "naming convention" if conv else "no downstream"}
                )
        res["reports"] = sorted(hits, key=lambda r: (r["hop"], r["name"]))
        return res

    def path(self, source: str, target: str) -> dict[str, Any]:
        a, b = self._one(source), self._one(target)
        gran: Literal["table", "column"] = (
            "column" if a["type"] == "column" and b["type"] == "column" else "table"
        )
        ends = []
        for r in (a, b):
            if gran == "table" and r["type"] == "column":
                ends.append(str(r["object_id"]))
            else:
                ends.append(str(r["id"]))
        for x, y, reverse in ((ends[0], ends[1], False), (ends[1], ends[0], True)):
            p = q_lineage.find_path(self.s, x, y, granularity=gran, project_id=self.pid)
            if p.found:
                return {
                    "found": True,
                    "from": a["name"],
                    "to": b["name"],
                    "reverse": reverse,
                    "granularity": gran,
                    "hops": p.hops,
                    "nodes": [n.canonical_id for n in p.nodes],
                    "edges": [self.edge(e, gran) for e in p.edges],
                }
        return {"found": True, "path": False, "from": a["name"], "to": b["name"], "granularity": gran}

    # ------------------------------------------------------------------ facts
    def node(self, name: str) -> dict[str, Any]:
        from finlineage.query.catalog import node_detail

        ref = self._one(name)
        if ref["type"] == "column":
            c = self.v.columns[ref["id"]]
            return {
                "found": True,
                "subject": ref,
                "data_type": c.data_type,
                "object": self.obj_ref(c.object_id),
            }
        d = node_detail(self.s, ref["id"], project_id=self.pid)
        out: dict[str, Any] = {
            "found": True,
            "subject": ref,
            "columns": [{"name": c.name, "data_type": c.data_type} for c in d.columns],
            "definition": {
                "file": d.file.path if d.file else None,
                "lines": _lines(d.line_start, d.line_end),
                "source_text": self.source_text(d.file.id if d.file else None, d.line_start, d.line_end)
                or d.definition,
            },
            "reads": sorted({n.canonical_id for n in d.reads}),
            "writes": sorted({n.canonical_id for n in d.writes}),
            "diagnostics": d.diagnostics,
        }
        if d.kind in ROUTINE_KINDS:
            out["statements"] = [self._stmt(st) for st in chat_reads.routine_statements(self.s, ref["id"])]
        return out

    def _stmt(self, st: chat_reads.StatementRef) -> dict[str, Any]:
        return {
            "verb": st.verb,
            "routine": st.routine,
            "target": st.target,
            "file": st.path,
            "file_id": st.file_id,
            "lines": _lines(st.line_start, st.line_end),
            "reads": st.reads,
            "writes": st.writes,
            "source_text": self.source_text(st.file_id, st.line_start, st.line_end) or st.text,
        }

    def writers(self, name: str, callers: bool = True) -> dict[str, Any]:
        """Who writes, reads, deletes or truncates an object: statements targeting it (with the
        routine they run in), data-flow edges in and out, and the routines that reach those
        writers through procedure calls."""
        ref = self._one(name)
        oid = ref["id"] if ref["type"] == "object" else ref["object_id"]
        statements = [self._stmt(st) for st in chat_reads.table_statements(self.s, oid)]
        up = self._one_hop(oid, "upstream", "table")
        down = self._one_hop(oid, "downstream", "table")
        writes = [self.edge(e, "table") for e in up.edges if e.target == oid]
        reads = [self.edge(e, "table") for e in down.edges if e.source == oid]
        writer_routines: set[str] = {e["via"] for e in writes if e["via"]}
        writer_routines |= {s["routine"] for s in statements if s["routine"] and s["verb"] != "create"}
        reader_routines = {e["via"] for e in reads if e["via"]}
        called_by: dict[str, list[str]] = {}
        for routine in sorted(writer_routines)[:10] if callers else []:
            rid = self.v.by_canonical.get(routine.lower())
            if rid is None:
                continue
            t = q_lineage.node_lineage(
                self.s,
                rid,
                "upstream",
                granularity="table",
                kinds=("indirect",),
                project_id=self.pid,
                max_nodes=self.node_cap,
            )
            names = [n.canonical_id for n in t.nodes if n.hop > 0 and n.kind in ROUTINE_KINDS]
            if names:
                called_by[routine] = names
        return {
            "found": True,
            "subject": self.obj_ref(oid),
            "statements": statements,
            "written_by": writes,
            "read_by": reads,
            "writer_routines": sorted(writer_routines),
            "reader_routines": sorted(reader_routines),
            "called_by": called_by,
        }

    def explain(self, name: str) -> dict[str, Any]:
        """The composed formula of a column with a file:line citation per step
        (`finlineage.query.explain.explain_column`)."""
        ref = self._one(name)
        if ref["type"] != "column":
            return {"found": True, "subject": ref, "message": "explain takes a column (schema.table.column)"}
        out = q_explain.explain_column(
            self.s,
            Scope(project_id=self.pid),
            ref["name"],
            data_dir=self.data_dir,
            max_nodes=self.node_cap,
        )
        data: dict[str, Any] = out.model_dump()
        data["found"] = True
        data["subject"] = ref
        for step in data.get("steps") or []:
            if not step.get("source_text"):
                step["source_text"] = self.source_text(
                    step.get("file_id"), step.get("line_start"), step.get("line_end")
                )
        return data

    # ------------------------------------------------------------------ files, search
    def failed_files(self) -> dict[str, Any]:
        files = chat_reads.failed_files(self.s, self.pid, repository_id=self.repository_id)
        objs = chat_reads.object_problems(self.s, self.pid, repository_id=self.repository_id)
        return {
            "found": True,
            "failed_files": [
                {"file": f.path, "file_id": f.file_id, "line": f.line, "error": f.error} for f in files
            ],
            "objects_with_diagnostics": [
                {
                    "object": o.canonical_id,
                    "kind": o.kind,
                    "file": o.path,
                    "diagnostics": [
                        {
                            "line": d.get("line"),
                            "code": d.get("code"),
                            "severity": d.get("severity"),
                            "message": d.get("message"),
                        }
                        for d in o.diagnostics[:20]
                    ],
                }
                for o in objs
            ],
        }

    def file_lines(self, path: str, line_from: int = 1, line_to: int | None = None) -> dict[str, Any]:
        from finlineage.query.files import file_content

        stmt = (
            select(File.id, File.path)
            .join(Repository, Repository.id == File.repository_id)
            .where(Repository.project_id == self.pid, File.superseded_by.is_(None))
        )
        if self.repository_id is not None:
            stmt = stmt.where(File.repository_id == self.repository_id)
        p = str(path).strip()
        rows = list(self.s.execute(stmt.where(File.path == p)))
        if not rows and p.isdecimal():
            rows = list(self.s.execute(stmt.where(File.id == int(p))))
        if not rows:
            rows = [r for r in self.s.execute(stmt) if r[1].endswith("/" + p) or r[1].endswith(p)][:5]
        if not rows:
            return {"found": False, "message": f"no file {path!r} in project {self.v.project_name!r}"}
        if len(rows) > 1:
            return {"found": True, "ambiguous": True, "candidates": [r[1] for r in rows]}
        if self.data_dir is None:
            return {"found": False, "message": "the server has no data directory configured"}
        fc = file_content(self.s, self.data_dir, int(rows[0][0]), max(1, int(line_from)), line_to)
        return {
            "found": True,
            "file": fc.path,
            "file_id": fc.file_id,
            "lines": [fc.line_start, fc.line_end],
            "total_lines": fc.total_lines,
            "source_text": "\n".join(fc.lines),
        }

    def search(self, query: str, limit: int = 10) -> dict[str, Any]:
        from finlineage.query.search import search as q_search

        page = q_search(
            self.s,
            query,
            Scope(project_id=self.pid, repository_id=self.repository_id),
            PageParams(limit=max(1, min(int(limit), 50))),
        )
        return {
            "found": bool(page.items),
            "total": page.total,
            "hits": [
                {
                    "name": h.node.canonical_id,
                    "kind": h.node.kind,
                    "file": h.node.file.path if h.node.file else None,
                    "lines": _lines(h.node.line_start, h.node.line_end),
                    "match": h.match,
                    "columns": h.columns,
                }
                for h in page.items
            ],
        }

    # ------------------------------------------------------------------ dispatch
    def call(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run a tool by name with JSON arguments (MCP and LLM function calling)."""
        name = str(args.get("name") or "")
        depth = args.get("depth")
        table: dict[str, Callable[[], dict[str, Any]]] = {
            "search": lambda: self.search(str(args.get("query") or name), int(args.get("limit") or 10)),
            "node": lambda: self.node(name),
            "upstream": lambda: self.upstream(name, depth, bool(args.get("data_only"))),
            "downstream": lambda: self.downstream(name, depth, bool(args.get("data_only"))),
            "impact": lambda: self.impact(name, depth),
            "explain": lambda: self.explain(name),
            "path": lambda: self.path(
                str(args.get("source") or args.get("from") or ""),
                str(args.get("target") or args.get("to") or ""),
            ),
            "file_lines": lambda: self.file_lines(
                str(args.get("path") or args.get("file") or name),
                int(args.get("line_from") or 1),
                int(args["line_to"]) if args.get("line_to") else None,
            ),
            "failed_files": self.failed_files,
            "writers": lambda: self.writers(name),
            "reports": lambda: self.reports(name, depth),
        }
        fn = table.get(tool)
        if fn is None:
            return {"found": False, "error": "unknown_tool", "message": f"unknown tool {tool!r}"}
        return self.guarded(fn)


_NAME = {
    "type": "string",
    "description": "qualified object or column, e.g. schema.table or schema.table.column",
}
_DEPTH = {
    "type": ["integer", "string"],
    "description": "hops to follow; omit or 'all' for the full closure (answers say when truncated)",
}
_DATA_ONLY = {
    "type": "boolean",
    "description": "follow only value flow ("
    + ",".join(q_lineage.DATA_FLOW_KINDS)
    + " edges), not join/filter keys; default: the API's walks ("
    + ",".join(q_lineage.NODE_WALK_KINDS)
    + " from an object, "
    + ",".join(q_lineage.COLUMN_WALK_KINDS)
    + " from a column)",
}
_PROJECT = {"type": "string", "description": "project name or id (default: the server's project)"}

TOOL_SPECS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    (
        "search",
        "Search objects and columns by name or text.",
        {"query": {"type": "string"}, "limit": {"type": "integer"}},
        ["query"],
    ),
    (
        "node",
        "Facts about an object or column: kind, columns, definition with lines, reads/writes, what a routine does per statement, diagnostics.",
        {"name": _NAME},
        ["name"],
    ),
    (
        "upstream",
        "Everything an object or column is derived from (full depth by default), with evidence per edge.",
        {"name": _NAME, "depth": _DEPTH, "data_only": _DATA_ONLY},
        ["name"],
    ),
    (
        "downstream",
        "Everything derived from an object or column (full depth by default), with evidence per edge.",
        {"name": _NAME, "depth": _DEPTH, "data_only": _DATA_ONLY},
        ["name"],
    ),
    (
        "impact",
        "What breaks if an object or column changes: everything downstream grouped by hop and kind.",
        {"name": _NAME, "depth": _DEPTH},
        ["name"],
    ),
    (
        "explain",
        "How a column is calculated: the composed formula and each step with file:line and source text.",
        {"name": _NAME},
        ["name"],
    ),
    (
        "path",
        "Shortest lineage path between two objects or two columns (either direction).",
        {"source": _NAME, "target": _NAME},
        ["source", "target"],
    ),
    (
        "file_lines",
        "Original text of lines of an ingested file.",
        {"path": {"type": "string"}, "line_from": {"type": "integer"}, "line_to": {"type": "integer"}},
        ["path"],
    ),
    (
        "failed_files",
        "Ingestion health: files that failed (path, line, error) and objects with diagnostics.",
        {},
        [],
    ),
]
"""(name, description, JSON-schema properties, required) of every public tool; object tools
also take an optional `project`."""


def tool_schema(props: dict[str, Any], required: list[str], with_project: bool = True) -> dict[str, Any]:
    properties = dict(props)
    if with_project:
        properties["project"] = _PROJECT
    return {"type": "object", "properties": properties, "required": required}
