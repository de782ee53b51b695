"""The offline answer engine: intent + entity linking + graph traversal + prose templates.

It answers the common lineage questions without a language model and states only what the graph
holds: every object or column it names comes from a traversal result (registered in `Evidence`,
which also yields the cited sources and the graph payload), every expression it quotes is the
`expression` of a column edge. Names are written in single backticks (`stg.trades`), quoted SQL
expressions in double backticks (``a.qty * a.price``), files as `path/file.sql`.

`OfflineAnswer.pieces()` yields the prose as it is produced, so the streaming endpoint relays
real incremental output.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from finlineage.chat.graph_index import ColEdge, GraphIndex, TabEdge
from finlineage.chat.intents import classify
from finlineage.chat.linking import Entity, Linked, linker_for
from finlineage.chat.types import RetrievedChunk, Source

__all__ = ["CANNOT_ANSWER", "Evidence", "Focus", "OfflineAnswer", "OfflineEngine"]

CANNOT_ANSWER = "I can't answer that without a language model; here is what I found."
MAX_LIST = 40
MAX_EXPR_DEPTH = 8
ROUTINE_KINDS = ("procedure", "function", "trigger")
_KIND_WORDS = {
    "tables": "table",
    "views": "view",
    "procedures": "procedure",
    "procs": "procedure",
    "functions": "function",
    "triggers": "trigger",
    "materialized views": "materialized_view",
}


def _short(expr: str, limit: int = 160) -> str:
    one = " ".join(expr.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _lines(a: int | None, b: int | None) -> list[int] | None:
    if a is None:
        return None
    return [a, b if b is not None else a]


def _fmt_lines(lines: list[int] | None) -> str:
    if not lines:
        return ""
    return f" (line {lines[0]})" if lines[0] == lines[1] else f" (lines {lines[0]}–{lines[1]})"


@dataclass
class Focus:
    """What a conversation is about (per-session memory): the last objects and columns."""

    objects: list[int] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)


class Evidence:
    """Everything an answer used: sources to cite and the nodes/edges to draw."""

    def __init__(self, g: GraphIndex) -> None:
        self.g = g
        self.sources: dict[str, Source] = {}
        self.nodes: dict[int, dict[str, Any]] = {}
        self.edges: dict[str, dict[str, Any]] = {}

    # names --------------------------------------------------------------------------
    def node(self, oid: int, score: float = 1.0) -> str:
        o = self.g.objects[oid]
        key = f"node:{oid}"
        if key not in self.sources:
            self.sources[key] = Source(
                "graph_node",
                key,
                o.canonical_id,
                self.g.file_of(oid),
                _lines(o.line_start, o.line_end),
                score,
            )
            self.nodes[oid] = {
                "id": str(oid),
                "label": o.canonical_id,
                "kind": o.kind,
                "schema": o.schema,
                "name": o.name,
                "file": self.g.file_of(oid),
            }
        return f"`{o.canonical_id}`"

    def column(self, cid: int, score: float = 1.0) -> str:
        c = self.g.columns[cid]
        self.node(c.object_id, score)
        return f"`{self.g.col_label(cid)}`"

    def tedge(self, e: TabEdge, score: float = 1.0) -> None:
        key = f"edge:t{e.id}"
        if key in self.sources:
            return
        self.node(e.source)
        self.node(e.target)
        label = f"{self.g.objects[e.source].canonical_id} → {self.g.objects[e.target].canonical_id}"
        file = self.g.files.get(e.file_id) if e.file_id is not None else None
        self.sources[key] = Source("graph_edge", key, label, file, _lines(e.line_start, e.line_end), score)
        item: dict[str, Any] = {
            "id": f"t{e.id}",
            "source": str(e.source),
            "target": str(e.target),
            "kind": e.kind,
        }
        if e.process is not None and e.process in self.g.objects:
            item["process"] = self.g.objects[e.process].canonical_id
        self.edges[f"t{e.id}"] = item

    def cedge(self, e: ColEdge, score: float = 1.0) -> None:
        key = f"edge:c{e.id}"
        if key in self.sources:
            return
        g = self.g
        self.column(e.source)
        self.column(e.target)
        label = f"{g.col_label(e.source)} → {g.col_label(e.target)}"
        file = g.files.get(e.file_id) if e.file_id is not None else None
        self.sources[key] = Source("graph_edge", key, label, file, _lines(e.line_start, e.line_end), score)
        so, to = g.columns[e.source].object_id, g.columns[e.target].object_id
        tkey = f"o{so}-{to}"
        item = self.edges.get(tkey)
        if item is None and so != to:
            item = {"id": tkey, "source": str(so), "target": str(to), "kind": e.kind, "columns": []}
            self.edges[tkey] = item
        if item is not None and len(item["columns"]) < 50:
            item["columns"].append(
                {
                    "source": g.columns[e.source].name,
                    "target": g.columns[e.target].name,
                    "expression": e.expression,
                }
            )

    def chunk(self, ch: RetrievedChunk) -> None:
        key = ch.source_id
        if key not in self.sources:
            self.sources[key] = Source("code_chunk", key, ch.label, ch.file, ch.lines(), ch.score)

    def graph_data(self) -> dict[str, Any] | None:
        if not self.nodes:
            return None
        return {"nodes": list(self.nodes.values()), "edges": list(self.edges.values())}

    def source_list(self) -> list[Source]:
        return list(self.sources.values())


class OfflineAnswer:
    """One question being answered; iterate `pieces()` for the prose, then read the fields."""

    def __init__(
        self,
        engine: OfflineEngine,
        g: GraphIndex,
        question: str,
        *,
        session: Session | None,
        chunks: list[RetrievedChunk] | None,
        focus: Focus | None,
        mode: str,
        chunk_fn: Callable[[], list[RetrievedChunk]] | None = None,
    ) -> None:
        self.e = engine
        self.g = g
        self.question = question
        self.session = session
        self._chunks = chunks
        self._chunk_fn = chunk_fn
        self.focus = focus
        self.mode = mode
        self.ev = Evidence(g)
        self.linker = linker_for(g)
        self.linked: Linked = self.linker.link(question)
        self.intents = classify(question)
        self.intent = "unknown"
        self.answered = False
        self.next_actions: list[str] = []
        self.warnings: list[str] = []
        self.focus_out = Focus()
        self.text_parts: list[str] = []

    @property
    def chunks(self) -> list[RetrievedChunk]:
        """Retrieved code, computed on first use (graph mode needs it only for some answers)."""
        if self._chunks is None:
            self._chunks = self._chunk_fn() if self._chunk_fn is not None else []
        return self._chunks

    # ------------------------------------------------------------------ driver
    def pieces(self) -> Iterator[str]:
        for piece in self._compose():
            self.text_parts.append(piece)
            yield piece

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def _entity_objects(self) -> list[int]:
        prefer = "source" if self.intents and self.intents[0] in ("impact", "path") else "sink"
        out: list[int] = []
        for ent in self.linked.objects():
            oid = self.linker.pick_object(ent, prefer)
            if oid not in out:
                out.append(oid)
        return out

    def _compose(self) -> Iterator[str]:
        objs = self._entity_objects()
        col_ents = self.linked.columns()
        schemas = [str(s.id) for s in self.linked.schemas()]
        # a single word that is both an object name and a column name: keep the object unless the
        # question is about columns / calculation
        if objs and col_ents:
            obj_spans = {(e.start, e.end) for e in self.linked.objects()}
            col_level = any(i in self.intents for i in ("calculation", "column_lineage"))
            col_ents = [c for c in col_ents if (c.start, c.end) not in obj_spans or col_level]
            if col_level:
                col_spans = {(c.start, c.end) for c in col_ents if c.method != "name"}
                objs = [
                    self.linker.pick_object(e, prefer="sink")
                    for e in self.linked.objects()
                    if (e.start, e.end) not in col_spans
                ]
                objs = list(dict.fromkeys(objs))
        if not objs and not col_ents and not schemas and self.focus is not None:
            objs, cols_from_focus = list(self.focus.objects), list(self.focus.columns)
        else:
            cols_from_focus = []
        prefer = "source" if self.intents and self.intents[0] == "impact" else "sink"
        cols: list[int] = list(cols_from_focus)
        for ce in col_ents:
            for cid in self.linker.pick_columns(ce, objs, prefer=prefer):
                if cid not in cols:
                    cols.append(cid)
        # objects that only qualify a column ("exposure_usd in mart.exposure") are not a subject
        col_objs = {self.g.columns[c].object_id for c in cols}
        subject_objs = [o for o in objs if o not in col_objs] if cols else objs
        self.focus_out = Focus(objects=objs[:5], columns=cols[:5])
        handled = False
        for intent in self.intents or ["describe"]:
            gen = self._dispatch(intent, subject_objs, objs, cols, schemas)
            if gen is None:
                continue
            self.intent = intent
            handled = True
            yield from gen
            break
        if not handled and (objs or cols):
            self.intent = "describe"
            gen = self._dispatch("describe", subject_objs, objs, cols, schemas)
            if gen is not None:
                handled = True
                yield from gen
        if not handled:
            self.intent = "unknown"
            yield from self._cannot_answer()
            return
        self.answered = True
        yield from self._ambiguity_note(col_ents, objs, cols)
        if self.mode == "deep":
            yield from self._definitions()
        if self.mode in ("semantic", "deep") and self.chunks:
            yield from self._related_chunks(limit=3)

    def _dispatch(
        self, intent: str, subj: list[int], objs: list[int], cols: list[int], schemas: list[str]
    ) -> Iterator[str] | None:
        g = self.g
        if intent == "path":
            ents = [e for e in self.linked.ordered() if e.kind in ("object", "column")]
            if len(ents) >= 2 and objs:
                return self._best_path(ents)
            ends = [("o", o) for o in objs] + [("c", c) for c in cols]
            if len(ends) >= 2:
                return self._path(ends[0], ends[1])
            return None
        if intent == "proc_io":
            procs = [o for o in objs if g.objects[o].kind in ROUTINE_KINDS]
            if procs:
                return self._proc_io(procs[0])
            if subj and re.search(
                r"\b(read|reads|reading|use|uses|query|queries|select)\b", self.question.lower()
            ):
                # "which views read from X": the readers of a table are its impact
                return self._impact(subj[0])
            return None
        if intent == "calculation":
            if cols:
                return self._calculation(cols)
            if subj:
                return self._object_calculation(subj[0])
            return None
        if intent == "column_lineage":
            if cols:
                return self._column_upstream(cols)
            if subj:
                return self._object_column_lineage(subj[0])
            return None
        if intent == "impact":
            if cols:
                return self._column_impact(cols)
            if subj:
                return self._impact(subj[0])
            return None
        if intent == "upstream":
            if cols:
                return self._column_upstream(cols)
            if subj:
                return self._upstream(subj[0])
            return None
        if intent == "files":
            targets = subj or [g.columns[c].object_id for c in cols]
            if targets:
                return self._files(list(dict.fromkeys(targets)))
            if self.chunks:
                return self._files_by_search()
            return None
        if intent == "schema":
            if schemas and not subj and not cols:
                return self._schema(schemas[0])
            if schemas and "schema" in self.question.lower():
                return self._schema(schemas[0])
            return None
        if intent == "describe":
            if subj:
                return self._describe(subj[0])
            if cols:
                return self._describe_column(cols[0])
            if schemas:
                return self._schema(schemas[0])
            return None
        return None

    # ------------------------------------------------------------------ helpers
    def _via(self, process: int | None) -> str:
        if process is None or process not in self.g.objects:
            return ""
        return f" via {self.ev.node(process)}"

    def _where(self, file_id: int | None, a: int | None, b: int | None) -> str:
        if file_id is None or file_id not in self.g.files:
            return ""
        return f" in `{self.g.files[file_id]}`{_fmt_lines(_lines(a, b))}"

    def _chain_to_root(self, start: int, up: dict[int, int]) -> list[int]:
        """One longest-looking chain from a root source up to `start` (object ids, root first)."""
        g = self.g
        chain = [start]
        cur = start
        seen = {start}
        while True:
            parents = [e.source for e in g.t_up.get(cur, ()) if e.source not in seen]
            if not parents:
                break
            parents.sort(key=lambda p: (-max(up.get(p, 0), 0), g.objects[p].canonical_id))
            # prefer the parent with the deepest ancestry
            parents.sort(key=lambda p: -self._ancestry(p))
            cur = parents[0]
            seen.add(cur)
            chain.append(cur)
        return list(reversed(chain))

    def _ancestry(self, oid: int) -> int:
        depth, _ = self.g.walk_tables(oid, "up", max_depth=12, limit=500)
        return max(depth.values(), default=0)

    def _name_list(self, ids: list[int]) -> str:
        names = [self.ev.node(i) for i in ids[:MAX_LIST]]
        more = len(ids) - len(names)
        return ", ".join(names) + (f" and {more} more" if more > 0 else "")

    # ------------------------------------------------------------------ intents
    def _upstream(self, oid: int) -> Iterator[str]:
        g = self.g
        name = self.ev.node(oid)
        depth, edges = g.walk_tables(oid, "up")
        if not depth:
            o = g.objects[oid]
            yield f"{name} has no upstream lineage in the graph: it is a source ({o.kind})"
            f = g.file_of(oid)
            yield (f", defined in `{f}`{_fmt_lines(_lines(o.line_start, o.line_end))}.\n" if f else ".\n")
            self.next_actions = [f"What breaks if {g.objects[oid].canonical_id} changes?"]
            return
        direct = g.t_up.get(oid, [])
        yield f"{name} comes from {len(depth)} upstream object(s), up to {max(depth.values())} hop(s) away.\n\n"
        yield "Direct sources:\n"
        seen: set[int] = set()
        for e in direct:
            if e.source in seen:
                continue
            seen.add(e.source)
            self.ev.tedge(e)
            yield f"- {self.ev.node(e.source)}{self._via(e.process)}{self._where(e.file_id, e.line_start, e.line_end)}\n"
        for e in edges:
            self.ev.tedge(e, 0.8)
        by_depth: dict[int, list[int]] = defaultdict(list)
        for n, d in depth.items():
            by_depth[d].append(n)
        if len(by_depth) > 1:
            yield "\nFurther upstream:\n"
            for d in sorted(by_depth):
                if d == 1:
                    continue
                ids = sorted(by_depth[d], key=lambda i: g.objects[i].canonical_id)
                yield f"- {d} hops: {self._name_list(ids)}\n"
        roots = sorted((n for n in depth if not g.t_up.get(n)), key=lambda i: g.objects[i].canonical_id)
        if roots:
            yield f"\nOriginal sources (nothing upstream of them): {self._name_list(roots)}.\n"
        chain = self._chain_to_root(oid, depth)
        if len(chain) > 2:
            yield "\nLongest path: " + " → ".join(self.ev.node(i) for i in chain) + ".\n"
        procs = sorted({e.process for e in edges if e.process is not None and e.process in g.objects})
        if procs:
            yield f"\nLoaded by: {self._name_list(procs)}.\n"
        col_lines = []
        for cid in g.cols_by_object.get(oid, [])[:MAX_LIST]:
            cins = [ce for ce in g.c_up.get(cid, ()) if ce.kind == "direct"]
            if not cins:
                continue
            for ce in cins[:8]:
                self.ev.cedge(ce, 0.7)
            srcs = ", ".join(self.ev.column(ce.source) for ce in cins[:8])
            col_lines.append(f"- {self.ev.column(cid)} ← {srcs}\n")
        if col_lines:
            yield "\nColumn sources:\n"
            yield from col_lines
        cn = g.objects[oid].canonical_id
        self.next_actions = [f"How is each column of {cn} calculated?", f"What breaks if {cn} changes?"]

    def _impact(self, oid: int) -> Iterator[str]:
        g = self.g
        name = self.ev.node(oid)
        depth, edges = g.walk_tables(oid, "down")
        readers = sorted(
            {e.process for e in g.t_down.get(oid, ()) if e.process is not None and e.process in g.objects}
        )
        if not depth and not readers:
            yield f"Nothing in the graph depends on {name}: no object reads from it, so a change breaks no recorded lineage.\n"
            self.next_actions = [f"Where does {g.objects[oid].canonical_id} come from?"]
            return
        yield f"A change to {name} affects {len(depth)} downstream object(s)"
        if depth:
            yield f", up to {max(depth.values())} hop(s) away"
        yield ".\n\n"
        if readers:
            yield f"Read directly by: {self._name_list(readers)}.\n"
        direct = [e for e in g.t_down.get(oid, ())]
        if direct:
            yield "Directly affected:\n"
            seen: set[int] = set()
            for e in direct:
                if e.target in seen:
                    continue
                seen.add(e.target)
                self.ev.tedge(e)
                yield f"- {self.ev.node(e.target)}{self._via(e.process)}{self._where(e.file_id, e.line_start, e.line_end)}\n"
        for e in edges:
            self.ev.tedge(e, 0.8)
        by_depth: dict[int, list[int]] = defaultdict(list)
        for n, d in depth.items():
            by_depth[d].append(n)
        if len(by_depth) > 1:
            yield "\nIndirectly affected:\n"
            for d in sorted(by_depth):
                if d == 1:
                    continue
                ids = sorted(by_depth[d], key=lambda i: g.objects[i].canonical_id)
                yield f"- {d} hops: {self._name_list(ids)}\n"
        procs = sorted(
            {e.process for e in edges if e.process is not None and e.process in g.objects} - set(readers)
        )
        if procs:
            yield f"\nRoutines that would need re-running or review: {self._name_list(procs)}.\n"
        leaves = sorted((n for n in depth if not g.t_down.get(n)), key=lambda i: g.objects[i].canonical_id)
        if leaves:
            yield f"\nEnd consumers (nothing downstream of them): {self._name_list(leaves)}.\n"
        cn = g.objects[oid].canonical_id
        self.next_actions = [f"Where does {cn} come from?", f"Which files define {cn}?"]

    def _column_upstream(self, cols: list[int]) -> Iterator[str]:
        g = self.g
        for n, cid in enumerate(cols[:3]):
            if n:
                yield "\n"
            name = self.ev.column(cid)
            depth, edges = g.walk_columns([cid], "up", direct_only=True)
            if not depth:
                depth, edges = g.walk_columns([cid], "up", max_depth=1)
            if not depth:
                yield f"{name} has no upstream column lineage in the graph (it is loaded as is or is a source column).\n"
                continue
            yield f"{name} is derived from {len(depth)} upstream column(s):\n"
            by_target: dict[int, list[ColEdge]] = defaultdict(list)
            for e in edges:
                by_target[e.target].append(e)
            # depth-first from the asked column so the prose follows the chain
            order: list[int] = []
            stack = [cid]
            seen = {cid}
            while stack:
                cur = stack.pop(0)
                order.append(cur)
                for e in by_target.get(cur, ()):
                    if e.source not in seen:
                        seen.add(e.source)
                        stack.append(e.source)
            for tgt in order:
                ins = by_target.get(tgt)
                if not ins:
                    continue
                for e in ins[:MAX_LIST]:
                    self.ev.cedge(e)
                srcs = ", ".join(self.ev.column(e.source) for e in ins[:MAX_LIST])
                exprs = list(dict.fromkeys(e.expression for e in ins if e.expression))
                first = ins[0]
                expr = f" as ``{_short(exprs[0])}``" if exprs else ""
                yield f"- {self.ev.column(tgt)} ← {srcs}{expr}{self._via(first.process)}{self._where(first.file_id, first.line_start, first.line_end)}\n"
            roots = sorted({c for c in depth if not g.c_up.get(c)}, key=g.col_label)
            if roots:
                yield (
                    "Original source columns: "
                    + ", ".join(self.ev.column(c) for c in roots[:MAX_LIST])
                    + ".\n"
                )
            objs = sorted({g.columns[c].object_id for c in depth}, key=lambda i: g.objects[i].canonical_id)
            yield f"Objects on the way: {self._name_list(objs)}.\n"
        cl = g.col_label(cols[0])
        self.next_actions = [f"How is {cl} calculated?", f"What breaks if {cl} changes?"]

    def _calculation(self, cols: list[int]) -> Iterator[str]:
        g = self.g
        for n, cid in enumerate(cols[:2]):
            if n:
                yield "\n"
            name = self.ev.column(cid)
            ins = g.c_up.get(cid, [])
            if not ins:
                yield f"{name} is not calculated from other columns in the graph (it is loaded as is or is a source column).\n"
                continue
            yield f"How {name} is calculated, step by step:\n"
            seen: set[int] = set()
            yield from self._expr_tree(cid, 0, seen)
            depth, _ = g.walk_columns([cid], "up")
            roots = sorted({c for c in depth if not g.c_up.get(c)}, key=g.col_label)
            if roots:
                yield (
                    "Inputs at the start of the chain: "
                    + ", ".join(self.ev.column(c) for c in roots[:MAX_LIST])
                    + ".\n"
                )
        cl = g.col_label(cols[0])
        self.next_actions = [
            f"What breaks if {cl} changes?",
            f"Which files define {g.objects[g.columns[cols[0]].object_id].canonical_id}?",
        ]

    def _expr_tree(self, cid: int, level: int, seen: set[int]) -> Iterator[str]:
        g = self.g
        if cid in seen or level >= MAX_EXPR_DEPTH:
            return
        seen.add(cid)
        ins = [e for e in g.c_up.get(cid, []) if e.kind == "direct"] or g.c_up.get(cid, [])
        if not ins:
            return
        pad = "  " * level
        groups: dict[tuple[str | None, int | None], list[ColEdge]] = defaultdict(list)
        for e in ins:
            groups[(e.expression, e.process)].append(e)
        for (expr, proc), es in list(groups.items())[:6]:
            for e in es:
                self.ev.cedge(e)
            srcs = ", ".join(self.ev.column(e.source) for e in es[:MAX_LIST])
            first = es[0]
            where = self._via(proc) + self._where(first.file_id, first.line_start, first.line_end)
            if expr:
                yield f"{pad}- {self.ev.column(cid)} = ``{_short(expr)}`` from {srcs}{where}\n"
            else:
                yield f"{pad}- {self.ev.column(cid)} is copied from {srcs}{where}\n"
            for e in es[:MAX_LIST]:
                yield from self._expr_tree(e.source, level + 1, seen)

    def _object_calculation(self, oid: int) -> Iterator[str]:
        g = self.g
        cols = [c for c in g.cols_by_object.get(oid, []) if g.c_up.get(c)]
        name = self.ev.node(oid)
        if not cols:
            yield f"{name} has no column-level lineage in the graph, so I cannot show how its columns are calculated.\n"
            yield from self._upstream(oid)
            return
        yield f"Column calculations of {name}:\n"
        for cid in cols[:MAX_LIST]:
            ins = g.c_up[cid]
            for e in ins:
                self.ev.cedge(e)
            exprs = list(dict.fromkeys(e.expression for e in ins if e.expression))
            srcs = ", ".join(self.ev.column(e.source) for e in ins[:10])
            expr = f" = ``{_short(exprs[0])}``" if exprs else " copied"
            yield f"- {self.ev.column(cid)}{expr} from {srcs}{self._via(ins[0].process)}\n"
        self.next_actions = [f"Where does {g.objects[oid].canonical_id} come from?"]

    def _object_column_lineage(self, oid: int) -> Iterator[str]:
        g = self.g
        cols = [c for c in g.cols_by_object.get(oid, []) if g.c_up.get(c)]
        if not cols:
            yield from self._upstream(oid)
            return
        yield f"Column-level lineage of {self.ev.node(oid)}:\n"
        for cid in cols[:MAX_LIST]:
            ins = g.c_up[cid]
            for e in ins:
                self.ev.cedge(e)
            srcs = ", ".join(self.ev.column(e.source) for e in ins[:10])
            exprs = list(dict.fromkeys(e.expression for e in ins if e.expression))
            expr = f" as ``{_short(exprs[0])}``" if exprs else ""
            yield f"- {self.ev.column(cid)} ← {srcs}{expr}\n"
        self.next_actions = [f"What breaks if {g.objects[oid].canonical_id} changes?"]

    def _column_impact(self, cols: list[int]) -> Iterator[str]:
        g = self.g
        for n, cid in enumerate(cols[:3]):
            if n:
                yield "\n"
            name = self.ev.column(cid)
            depth, edges = g.walk_columns([cid], "down", direct_only=True)
            if not depth:
                depth, edges = g.walk_columns([cid], "down")
            if not depth:
                yield f"No column in the graph is derived from {name}; a change to it breaks no recorded column lineage.\n"
                continue
            yield f"A change to {name} affects {len(depth)} downstream column(s):\n"
            for e in edges[: MAX_LIST * 2]:
                self.ev.cedge(e)
            by_obj: dict[int, list[int]] = defaultdict(list)
            for c, _d in sorted(depth.items(), key=lambda kv: kv[1]):
                by_obj[g.columns[c].object_id].append(c)
            for oid, cs in by_obj.items():
                yield f"- {self.ev.node(oid)}: " + ", ".join(self.ev.column(c) for c in cs[:20]) + "\n"
            procs = sorted({e.process for e in edges if e.process is not None and e.process in g.objects})
            if procs:
                yield f"Computed in: {self._name_list(procs)}.\n"
        cl = g.col_label(cols[0])
        self.next_actions = [f"Where does {cl} come from?", f"How is {cl} calculated?"]

    def _proc_io(self, pid: int) -> Iterator[str]:
        g = self.g
        name = self.ev.node(pid)
        reads: dict[int, TabEdge] = {}
        writes: dict[int, TabEdge] = {}
        calls: list[int] = []
        for e in g.t_by_process.get(pid, ()):
            if e.source != pid:
                reads.setdefault(e.source, e)
            if e.target == pid:
                continue
            if g.objects[e.target].kind in ROUTINE_KINDS:
                calls.append(e.target)
            else:
                writes.setdefault(e.target, e)
        for e in g.t_up.get(pid, ()):
            if g.objects[e.source].kind not in ROUTINE_KINDS:
                reads.setdefault(e.source, e)
        for e in g.t_down.get(pid, ()):
            if g.objects[e.target].kind in ROUTINE_KINDS:
                calls.append(e.target)
            else:
                writes.setdefault(e.target, e)
        for cedge in g.c_by_process.get(pid, ()):
            so = g.columns[cedge.source].object_id
            to = g.columns[cedge.target].object_id
            if so not in reads and so != pid:
                reads[so] = TabEdge(
                    -1, so, to, pid, cedge.file_id, cedge.line_start, cedge.line_end, cedge.kind
                )
            if to not in writes and to != pid:
                writes[to] = TabEdge(
                    -1, so, to, pid, cedge.file_id, cedge.line_start, cedge.line_end, cedge.kind
                )
        pure_reads = [o for o in reads if o not in writes]
        if not reads and not writes and not calls:
            yield f"The graph records no objects read or written by {name}.\n"
            return
        yield f"{name} reads {len(reads)} object(s) and writes {len(writes)}.\n\n"
        if reads:
            yield "Reads:\n"
            for oid, e in sorted(reads.items(), key=lambda kv: g.objects[kv[0]].canonical_id):
                if e.id > 0:
                    self.ev.tedge(e)
                yield f"- {self.ev.node(oid)}{self._where(e.file_id, e.line_start, e.line_end)}\n"
        if writes:
            yield "Writes:\n"
            for oid, e in sorted(writes.items(), key=lambda kv: g.objects[kv[0]].canonical_id):
                if e.id > 0:
                    self.ev.tedge(e)
                yield f"- {self.ev.node(oid)}{self._where(e.file_id, e.line_start, e.line_end)}\n"
        if calls:
            yield f"Calls: {self._name_list(sorted(set(calls)))}.\n"
        if pure_reads and writes:
            yield f"\nData flows from {self._name_list(sorted(pure_reads))} into {self._name_list(sorted(writes))}.\n"
        cn = g.objects[pid].canonical_id
        self.next_actions = [f"Which files define {cn}?"]

    def _path(self, a: tuple[str, int], b: tuple[str, int]) -> Iterator[str]:
        g = self.g
        if a[0] == "c" and b[0] == "c":
            yield from self._column_path(a[1], b[1])
            return
        oa = a[1] if a[0] == "o" else g.columns[a[1]].object_id
        ob = b[1] if b[0] == "o" else g.columns[b[1]].object_id
        path = g.shortest_path(oa, ob)
        reverse = False
        if path is None:
            path = g.shortest_path(ob, oa)
            reverse = path is not None
        na, nb = self.ev.node(oa), self.ev.node(ob)
        if path is None:
            yield f"There is no lineage path between {na} and {nb} in the graph, in either direction.\n"
            return
        if reverse:
            yield f"Data flows the other way: from {nb} to {na}, in {len(path)} hop(s).\n"
        else:
            yield f"Data flows from {na} to {nb} in {len(path)} hop(s).\n"
        chain = [path[0].source] + [e.target for e in path] if path else [oa]
        yield "Path: " + " → ".join(self.ev.node(i) for i in chain) + ".\n\n"
        for e in path:
            self.ev.tedge(e)
            yield f"- {self.ev.node(e.source)} → {self.ev.node(e.target)}{self._via(e.process)}{self._where(e.file_id, e.line_start, e.line_end)}\n"

    def _best_path(self, ents: list[Entity]) -> Iterator[str]:
        """Path between the first two mentions; ambiguous mentions try each candidate pair and
        keep the longest connecting path (the fullest story), preferring a → b order."""
        g = self.g

        def objs_of(e: Entity) -> list[int]:
            if e.kind == "object":
                return [int(i) for i in e.ids][:6]
            return list(dict.fromkeys(g.columns[int(i)].object_id for i in e.ids))[:6]

        a_ids, b_ids = objs_of(ents[0]), objs_of(ents[1])
        best: tuple[int, int, int] | None = None
        for a in a_ids:
            for b in b_ids:
                if a == b:
                    continue
                p = g.shortest_path(a, b)
                if p is not None and (best is None or len(p) > best[0]):
                    best = (len(p), a, b)
        if best is None:
            for a in a_ids:
                for b in b_ids:
                    p = g.shortest_path(b, a) if a != b else None
                    if p is not None and (best is None or len(p) > best[0]):
                        best = (len(p), a, b)
        if best is None:
            return self._path(("o", a_ids[0]), ("o", b_ids[0]))
        return self._path(("o", best[1]), ("o", best[2]))

    def _column_path(self, ca: int, cb: int) -> Iterator[str]:
        g = self.g
        for src, dst, rev in ((ca, cb, False), (cb, ca, True)):
            prev: dict[int, ColEdge] = {}
            seen = {src}
            frontier = [src]
            found = False
            while frontier and not found:
                nxt: list[int] = []
                for c in frontier:
                    for e in g.c_down.get(c, ()):
                        if e.target in seen:
                            continue
                        seen.add(e.target)
                        prev[e.target] = e
                        if e.target == dst:
                            found = True
                            break
                        nxt.append(e.target)
                    if found:
                        break
                frontier = nxt
            if found:
                steps: list[ColEdge] = []
                cur = dst
                while cur != src:
                    steps.append(prev[cur])
                    cur = prev[cur].source
                steps.reverse()
                if rev:
                    yield f"Data flows the other way: from {self.ev.column(cb)} to {self.ev.column(ca)}.\n"
                else:
                    yield f"Data flows from {self.ev.column(ca)} to {self.ev.column(cb)} in {len(steps)} step(s):\n"
                for e in steps:
                    self.ev.cedge(e)
                    expr = f" as ``{_short(e.expression)}``" if e.expression else ""
                    yield f"- {self.ev.column(e.source)} → {self.ev.column(e.target)}{expr}{self._via(e.process)}\n"
                return
        yield f"There is no column lineage path between {self.ev.column(ca)} and {self.ev.column(cb)} in the graph.\n"

    def _schema(self, schema: str) -> Iterator[str]:
        g = self.g
        ids = g.by_schema.get(schema.lower(), [])
        if not ids:
            yield f"The graph has no schema `{schema}`.\n"
            return
        q = self.question.lower()
        wanted = {k for w, k in _KIND_WORDS.items() if re.search(rf"\b{w}\b", q)}
        if wanted and any(g.objects[i].kind in wanted for i in ids):
            ids = [i for i in ids if g.objects[i].kind in wanted]
        by_kind: dict[str, list[int]] = defaultdict(list)
        for i in ids:
            by_kind[g.objects[i].kind].append(i)
        real = [g.objects[i].schema for i in ids if g.objects[i].schema]
        yield f"Schema `{real[0] if real else schema}` holds {len(ids)} object(s):\n"
        for kind in sorted(by_kind):
            members = sorted(by_kind[kind], key=lambda i: g.objects[i].canonical_id)
            yield f"- {kind}s ({len(members)}): {self._name_list(members)}\n"
        self.next_actions = [f"Where does {g.objects[ids[0]].canonical_id} come from?"]

    def _files(self, oids: list[int]) -> Iterator[str]:
        g = self.g
        for oid in oids[:3]:
            name = self.ev.node(oid)
            o = g.objects[oid]
            f = g.file_of(oid)
            if f:
                yield f"{name} ({o.kind}) is defined in `{f}`{_fmt_lines(_lines(o.line_start, o.line_end))}.\n"
            else:
                yield f"{name} has no defining file in the graph (it is only referenced: kind {o.kind}).\n"
            writers: dict[str, list[int]] = defaultdict(list)
            for e in g.t_up.get(oid, ()):
                if e.file_id is not None and e.file_id in g.files and g.files[e.file_id] != f:
                    self.ev.tedge(e)
                    writers[g.files[e.file_id]].append(e.line_start or 0)
            if writers:
                yield "It is also loaded by statements in:\n"
                for path, lines in sorted(writers.items()):
                    ls = sorted({x for x in lines if x})
                    at = f" (line {', '.join(map(str, ls[:5]))})" if ls else ""
                    yield f"- `{path}`{at}\n"
        self.next_actions = [f"Where does {g.objects[oids[0]].canonical_id} come from?"]
        if self.chunks:
            yield from self._related_chunks(limit=5)

    def _files_by_search(self) -> Iterator[str]:
        """No object named: the files of the code that best matches the question (keyword search)."""
        yield "No object is named in the question; the code that matches it best is in:\n"
        yield from (line for line in self._chunk_lines(limit=3))
        self.next_actions = ["Which files define <object>?"]

    def _chunk_lines(self, limit: int) -> Iterator[str]:
        for ch in self.chunks[:limit]:
            self.ev.chunk(ch)
            where = f"`{ch.file}`{_fmt_lines(ch.lines())}" if ch.file else ch.source_id
            obj = f" ({self.ev.node(ch.object_id)})" if ch.object_id in self.g.objects else ""
            yield f"- {where}{obj}\n"

    def _describe(self, oid: int) -> Iterator[str]:
        g = self.g
        o = g.objects[oid]
        name = self.ev.node(oid)
        f = g.file_of(oid)
        where = f", defined in `{f}`{_fmt_lines(_lines(o.line_start, o.line_end))}" if f else ""
        yield f"{name} is a {o.kind}{where}.\n"
        cols = g.cols_by_object.get(oid, [])
        if cols:
            shown = ", ".join(f"`{g.columns[c].name}`" for c in cols[:MAX_LIST])
            more = f" and {len(cols) - MAX_LIST} more" if len(cols) > MAX_LIST else ""
            yield f"Columns ({len(cols)}): {shown}{more}.\n"
        ups = list(dict.fromkeys(e.source for e in g.t_up.get(oid, ())))
        downs = list(dict.fromkeys(e.target for e in g.t_down.get(oid, ())))
        for e in g.t_up.get(oid, ()):
            self.ev.tedge(e)
        for e in g.t_down.get(oid, ()):
            self.ev.tedge(e)
        if ups:
            yield f"Fed directly by: {self._name_list(ups)}.\n"
        if downs:
            yield f"Feeds directly: {self._name_list(downs)}.\n"
        if o.kind in ROUTINE_KINDS and g.t_by_process.get(oid):
            yield "\n"
            yield from self._proc_io(oid)
        self.next_actions = [
            f"Where does {o.canonical_id} come from?",
            f"What breaks if {o.canonical_id} changes?",
        ]

    def _describe_column(self, cid: int) -> Iterator[str]:
        g = self.g
        c = g.columns[cid]
        yield f"{self.ev.column(cid)} is a column of {self.ev.node(c.object_id)}"
        yield f" ({c.data_type}).\n" if c.data_type else ".\n"
        yield from self._column_upstream([cid])

    def _definitions(self) -> Iterator[str]:
        if self.session is None:
            return
        g = self.g
        ids = [int(k.split(":")[1]) for k, s in self.ev.sources.items() if s.type == "graph_node"]
        ids = [i for i in ids if g.objects[i].kind != "external"][:4]
        defs = g.definitions(self.session, ids)
        if not defs:
            return
        yield "\nDefinitions on the path:\n"
        for oid in ids:
            text = defs.get(oid)
            if not text:
                continue
            lines = text.strip().splitlines()
            snippet = "\n".join(lines[:12]) + ("\n…" if len(lines) > 12 else "")
            yield f"\n{self.ev.node(oid)}:\n```sql\n{snippet}\n```\n"

    def _related_chunks(self, limit: int) -> Iterator[str]:
        shown = 0
        lines: list[str] = []
        for ch in self.chunks[:limit]:
            self.ev.chunk(ch)
            where = f"`{ch.file}`{_fmt_lines(ch.lines())}" if ch.file else ch.source_id
            obj = f" ({self.ev.node(ch.object_id)})" if ch.object_id in self.g.objects else ""
            lines.append(f"- {where}{obj}\n")
            shown += 1
        if shown:
            yield "\nRelated code:\n"
            yield from lines

    def _ambiguity_note(self, col_ents: list[Entity], objs: list[int], cols: list[int]) -> Iterator[str]:
        """Say when a bare column name exists in other tables than the one answered for."""
        for ent in col_ents:
            cands = [int(i) for i in ent.ids]
            if len(cands) <= 1 or any(self.g.columns[c].object_id in objs for c in cands):
                continue  # unambiguous, or the question named the table
            picked = [c for c in cands if c in cols]
            if not picked:
                continue
            name = self.g.columns[picked[0]].name
            others = [c for c in cands if c not in cols and self.g.columns[c].name == name]
            if not others:
                continue
            shown = ", ".join(self.ev.column(c) for c in others[:5])
            more = f" and {len(others) - 5} more" if len(others) > 5 else ""
            yield f"\nNote: a column `{name}` also exists as {shown}{more}; name the table to ask about it.\n"

    def _cannot_answer(self) -> Iterator[str]:
        yield CANNOT_ANSWER + "\n"
        found = False
        objs = self._entity_objects()
        if objs:
            found = True
            yield f"\nObjects your question mentions: {self._name_list(objs)}.\n"
        cols = [c for ent in self.linked.columns() for c in self.linker.pick_columns(ent, objs)]
        if cols:
            found = True
            yield "Columns your question mentions: " + ", ".join(self.ev.column(c) for c in cols[:10]) + ".\n"
        if self.chunks:
            found = True
            yield "\nThe most relevant code:\n"
            for ch in self.chunks[:5]:
                self.ev.chunk(ch)
                where = f"`{ch.file}`{_fmt_lines(ch.lines())}" if ch.file else ch.source_id
                obj = f" — {self.ev.node(ch.object_id)}" if ch.object_id in self.g.objects else ""
                yield f"- {where}{obj}\n"
        if not found:
            yield "\nNothing in the lineage graph matches the question.\n"
        self.next_actions = [
            "Where does <object> come from?",
            "What breaks if <object> changes?",
            "How is <column> calculated?",
        ]


RetrieveFn = Callable[[str], list[RetrievedChunk]]


class OfflineEngine:
    """Stateless; build one per process and call `start` per question."""

    def start(
        self,
        g: GraphIndex,
        question: str,
        *,
        session: Session | None = None,
        chunks: list[RetrievedChunk] | None = None,
        focus: Focus | None = None,
        mode: str = "graph",
        chunk_fn: Callable[[], list[RetrievedChunk]] | None = None,
    ) -> OfflineAnswer:
        return OfflineAnswer(
            self, g, question, session=session, chunks=chunks, focus=focus, mode=mode, chunk_fn=chunk_fn
        )

    def entities_of(self, answer: OfflineAnswer) -> list[Entity]:
        return answer.linked.ordered()
