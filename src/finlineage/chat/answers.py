"""Prose for each kind of question, written from the results of `chat.tools` (which read through
`finlineage.query`). Every object or column named comes from a query result or the vocabulary;
every double-backticked expression is a column edge's expression; every location is the
file and lines of an edge, object or statement in the store. Truncated results say so."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from finlineage.chat.evidence import Evidence, fmt_lines, short
from finlineage.chat.tools import LineageTools
from finlineage.chat.vocab import ROUTINE_KINDS, Vocab
from finlineage.query import lineage as q_lineage

__all__ = ["Answers"]

MAX_LIST = 40
_KIND_WORDS = {
    "tables": "table",
    "views": "view",
    "procedures": "procedure",
    "procs": "procedure",
    "functions": "function",
    "triggers": "trigger",
    "materialized views": "materialized_view",
}


def _is_call(e: dict[str, Any]) -> bool:
    return (e.get("expression") or "").upper().startswith("CALL ")


class Answers:
    v: Vocab
    t: LineageTools
    ev: Evidence
    question: str
    next_actions: list[str]

    # ------------------------------------------------------------------ helpers
    def _where(self, file: str | None, lines: list[int] | None) -> str:
        return f" in `{file}`{fmt_lines(lines)}" if file else ""

    def _via(self, via: str | None) -> str:
        return f" via {self.ev.name(via)}" if via else ""

    def _names(self, names: list[str]) -> str:
        shown = [self.ev.name(n) for n in names[:MAX_LIST]]
        more = len(names) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def _ids(self, ids: list[int]) -> str:
        return self._names([self.v.objects[i].canonical_id for i in ids])

    def _truncation(self, res: dict[str, Any]) -> Iterator[str]:
        if res.get("truncated"):
            more = f" ({res['omitted']} more not shown)" if res.get("omitted") else ""
            yield f"\nNote: this answer is truncated at the node cap{more}.\n"

    # ------------------------------------------------------------------ upstream
    def upstream_object(self, oid: int) -> Iterator[str]:
        ref = self.t.obj_ref(oid)
        name = self.ev.node(oid)
        res = self.t._walk_json(ref, "upstream", None)
        nodes = [n for n in res["nodes"] if n["hop"] > 0]
        edges = [e for e in res["edges"] if not _is_call(e)]
        o = self.v.objects[oid]
        if not nodes:
            yield f"{name} has no upstream lineage in the graph: it is a source ({o.kind})"
            f = self.v.file_of(oid)
            lines = [o.line_start, o.line_end or o.line_start] if o.line_start else None
            yield f", defined in `{f}`{fmt_lines(lines)}.\n" if f else ".\n"
            self.next_actions = [f"What breaks if {o.canonical_id} changes?"]
            return
        hops = max(n["hop"] for n in nodes)
        yield f"{name} comes from {len(nodes)} upstream object(s), up to {hops} hop(s) away (full depth).\n\n"
        seen: set[str] = set()
        for e in edges:
            if e["target_id"] != oid or e["source"] in seen:
                continue
            if not seen:
                yield "Direct sources:\n"
            seen.add(e["source"])
            self.ev.edge(e)
            yield f"- {self.ev.name(e['source'])}{self._via(e['via'])}{self._where(e['file'], e['lines'])}\n"
        calls = sorted(
            n["name"] for n in nodes if n["hop"] == 1 and n["kind"] in ROUTINE_KINDS and n["name"] not in seen
        )
        if calls:  # a routine one hop up with no data-flow edge calls this one (CALL edges are not listed)
            yield f"Called by: {self._names(calls)}.\n"
        for e in edges:
            self.ev.edge(e, 0.8)
        by_hop: dict[int, list[str]] = defaultdict(list)
        for n in nodes:
            by_hop[n["hop"]].append(n["name"])
        if len(by_hop) > 1:
            yield "\nFurther upstream:\n"
            for h in sorted(by_hop):
                if h > 1:
                    yield f"- {h} hops: {self._names(sorted(by_hop[h]))}\n"
        targets = {e["target_id"] for e in edges}
        roots = sorted(n["name"] for n in nodes if n["id"] not in targets)
        if roots:
            yield f"\nOriginal sources (nothing upstream of them): {self._names(roots)}.\n"
        procs = sorted({e["via"] for e in edges if e["via"]})
        if procs:
            yield f"\nLoaded by: {self._names(procs)}.\n"
        yield from self._column_sources(oid)
        yield from self._truncation(res)
        cn = o.canonical_id
        self.next_actions = [f"How is each column of {cn} calculated?", f"What breaks if {cn} changes?"]

    def _column_sources(self, oid: int) -> Iterator[str]:
        cols = self.t.column_edges_into(oid)
        if not cols:
            return
        by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in cols:
            if e["kind"] == "direct":
                by_target[e["target"]].append(e)
        if not by_target:
            return
        yield "\nColumn sources:\n"
        for tgt in list(by_target)[:MAX_LIST]:
            ins = by_target[tgt][:8]
            for e in ins:
                self.ev.edge(e, 0.7)
            yield f"- {self.ev.name(tgt)} ← " + ", ".join(self.ev.name(e["source"]) for e in ins) + "\n"

    def upstream_column(self, cid: int) -> Iterator[str]:
        ref = self.t.col_ref(cid)
        name = self.ev.column(cid)
        res = self.t._walk_json(ref, "upstream", None)  # the column walk's default kinds
        edges = res["edges"]
        nodes = [n for n in res["nodes"] if n["hop"] > 0]
        if not nodes:
            yield f"{name} has no upstream column lineage in the graph (it is loaded as is or is a source column).\n"
            return
        yield f"{name} is derived from {len(nodes)} upstream column(s) (full depth):\n"
        by_target: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for e in edges:
            by_target[e["target_id"]].append(e)
        order: list[int] = []
        queue = [cid]
        seen = {cid}
        while queue:
            cur = queue.pop(0)
            order.append(cur)
            for e in by_target.get(cur, ()):
                if e["source_id"] not in seen:
                    seen.add(e["source_id"])
                    queue.append(e["source_id"])
        for tgt in order:
            ins = by_target.get(tgt)
            if not ins:
                continue
            for e in ins[:MAX_LIST]:
                self.ev.edge(e)
            srcs = ", ".join(self.ev.name(e["source"]) for e in ins[:MAX_LIST])
            exprs = list(dict.fromkeys(e["expression"] for e in ins if e["expression"]))
            first = ins[0]
            expr = f" as ``{short(exprs[0])}``" if exprs else ""
            yield f"- {self.ev.name(first['target'])} ← {srcs}{expr}{self._via(first['via'])}{self._where(first['file'], first['lines'])}\n"
        targets = {e["target_id"] for e in edges}
        roots = sorted(n["name"] for n in nodes if n["id"] not in targets)
        if roots:
            yield "Original source columns: " + self._names(roots) + ".\n"
        objs = sorted({n["name"].rpartition(".")[0] for n in nodes})
        yield f"Objects on the way: {self._names(objs)}.\n"
        yield from self._truncation(res)
        if set(res.get("edge_kinds") or ()) != set(q_lineage.ALL_KINDS):
            # the values flow above; joins and filters also decide which rows arrive
            every = self.t._walk_json(ref, "upstream", None, q_lineage.ALL_KINDS)
            feeds = sorted(
                {
                    n["name"].rpartition(".")[0]
                    for n in every["nodes"]
                    if n["hop"] > 0
                    and n["object_id"] in self.v.objects
                    and self.v.objects[n["object_id"]].n_in == 0
                }
            )
            if feeds:
                yield f"Source tables at the start of every chain (values, joins and filters): {self._names(feeds)}.\n"
        cl = self.v.col_label(cid)
        self.next_actions = [f"How is {cl} calculated?", f"What breaks if {cl} changes?"]

    # ------------------------------------------------------------------ formula
    def calculation(self, cid: int) -> Iterator[str]:
        name = self.ev.column(cid)
        ex = self.t.explain(self.v.col_label(cid))
        steps = ex.get("steps") or []
        if not steps and not ex.get("formula"):
            yield f"{name} is not calculated from other columns in the graph (it is loaded as is or is a source column).\n"
            return
        yield f"How {name} is calculated:\n"
        if ex.get("formula"):
            yield f"\nFormula (composed through every step):\n```sql\n{ex['formula']}\n```\n"
        if steps:
            yield "\nSteps, with where each happens:\n"
            for st in steps[:MAX_LIST]:
                where = self._where(st.get("file"), _ln(st.get("line_start"), st.get("line_end")))
                expr = st.get("expression")
                yield (
                    f"- {self.ev.name(st['target'])} = ``{short(expr)}``{where}\n"
                    if expr
                    else f"- {self.ev.name(st['target'])}{where}\n"
                )
        for alt in ex.get("alternatives") or []:
            text = alt if isinstance(alt, str) else alt.get("formula") or alt.get("expression") or ""
            if text:
                yield f"\nAlternative writer:\n```sql\n{text}\n```\n"
        sources = ex.get("sources") or []
        if sources:
            srcs = [s if isinstance(s, str) else s.get("column") or s.get("name") or "" for s in sources]
            yield "Inputs: " + self._names([s for s in srcs if s]) + ".\n"
        # the per-edge tree (expressions as stored, with the routine and file of each)
        yield "\n"
        yield from self.upstream_column(cid)
        if ex.get("truncated"):
            yield "\nNote: the formula is truncated.\n"
        cl = self.v.col_label(cid)
        self.next_actions = [f"What breaks if {cl} changes?", f"Where does {cl} come from?"]

    def object_calculation(self, oid: int) -> Iterator[str]:
        cols = self.t.column_edges_into(oid)
        name = self.ev.node(oid)
        if not cols:
            yield f"{name} has no column-level lineage in the graph, so I cannot show how its columns are calculated.\n"
            yield from self.upstream_object(oid)
            return
        yield f"Column calculations of {name}:\n"
        by_target: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in cols:
            by_target[e["target"]].append(e)
        for tgt, ins in list(by_target.items())[:MAX_LIST]:
            for e in ins:
                self.ev.edge(e)
            exprs = list(dict.fromkeys(e["expression"] for e in ins if e["expression"]))
            srcs = ", ".join(self.ev.name(e["source"]) for e in ins[:10])
            expr = f" = ``{short(exprs[0])}``" if exprs else " copied"
            yield f"- {self.ev.name(tgt)}{expr} from {srcs}{self._via(ins[0]['via'])}{self._where(ins[0]['file'], ins[0]['lines'])}\n"
        self.next_actions = [f"Where does {self.v.objects[oid].canonical_id} come from?"]

    # ------------------------------------------------------------------ impact
    def impact_object(self, oid: int) -> Iterator[str]:
        name = self.ev.node(oid)
        res = self.t.impact(self.v.objects[oid].canonical_id)
        edges = [e for e in res["edges"] if not _is_call(e)]
        readers = sorted({e["via"] for e in edges if e["source_id"] == oid and e["via"]})
        total = res["total_objects"]
        if not total and not readers:
            yield f"Nothing in the graph depends on {name}: no object reads from it, so a change breaks no recorded lineage.\n"
            self.next_actions = [f"Where does {self.v.objects[oid].canonical_id} come from?"]
            return
        hops = max((g["hop"] for g in res["groups"]), default=0)
        yield f"A change to {name} affects {total} downstream object(s), up to {hops} hop(s) away (full depth).\n\n"
        if readers:
            yield f"Read directly by: {self._names(readers)}.\n"
        direct = [e for e in edges if e["source_id"] == oid]
        if direct:
            yield "Directly affected:\n"
            seen: set[str] = set()
            for e in direct:
                if e["target"] in seen:
                    continue
                seen.add(e["target"])
                self.ev.edge(e)
                yield f"- {self.ev.name(e['target'])}{self._via(e['via'])}{self._where(e['file'], e['lines'])}\n"
        for e in edges:
            self.ev.edge(e, 0.8)
        later = [g for g in res["groups"] if g["hop"] > 1]
        if later:
            yield "\nIndirectly affected, by hop and kind:\n"
            for g in later:
                yield f"- {g['hop']} hops, {g['kind']}s ({g['count']}): {self._names(g['objects'])}\n"
        procs = sorted({e["via"] for e in edges if e["via"]} - set(readers))
        if procs:
            yield f"\nRoutines that would need re-running or review: {self._names(procs)}.\n"
        leaves = sorted(
            n["name"]
            for n in res["nodes"]
            if n["hop"] > 0 and n["object_id"] in self.v.objects and self.v.objects[n["object_id"]].n_out == 0
        )
        if leaves:
            yield f"\nEnd consumers (nothing downstream of them): {self._names(leaves)}.\n"
        yield from self._truncation(res)
        cn = self.v.objects[oid].canonical_id
        self.next_actions = [f"Which reports use {cn}?", f"Where does {cn} come from?"]

    def impact_column(self, cid: int) -> Iterator[str]:
        name = self.ev.column(cid)
        res = self.t.impact(self.v.col_label(cid), data_only=True)
        nodes = [n for n in res["nodes"] if n["hop"] > 0]
        if not nodes:
            yield f"No column in the graph is derived from {name}; a change to it breaks no recorded column lineage.\n"
            return
        yield f"A change to {name} affects {len(nodes)} downstream column(s) in {res['total_objects']} object(s) (full depth):\n"
        for e in res["edges"][: MAX_LIST * 2]:
            self.ev.edge(e)
        by_obj: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for n in sorted(nodes, key=lambda n: n["hop"]):
            by_obj[n["name"].rpartition(".")[0]].append((n["hop"], n["name"]))
        for obj, cols in by_obj.items():
            yield (
                f"- hop {cols[0][0]}: {self.ev.name(obj)}: "
                + ", ".join(self.ev.name(c) for _, c in cols[:20])
                + "\n"
            )
        procs = sorted({e["via"] for e in res["edges"] if e["via"]})
        if procs:
            yield f"Computed in: {self._names(procs)}.\n"
        yield from self._truncation(res)
        cl = self.v.col_label(cid)
        self.next_actions = [f"Where does {cl} come from?", f"How is {cl} calculated?"]

    def reports(self, name_ref: str, label: str) -> Iterator[str]:
        res = self.t.reports(name_ref)
        reps = res["reports"]
        if not reps:
            yield f"No report (by naming convention, or an end consumer with nothing downstream) depends on {label}"
            yield (
                f"; {res['total_objects']} object(s) are downstream of it.\n"
                if res["total_objects"]
                else ".\n"
            )
            return
        yield f"{len(reps)} report(s) use {label}, at any depth:\n"
        for r in reps:
            self.ev.node(r["id"])
            why = "report by name" if r["why"] == "naming convention" else "end consumer, nothing downstream"
            yield f"- `{r['name']}` ({r['kind']}, {r['hop']} hop(s) away; {why}){self._where(r['file'], r['lines'])}\n"
        for e in res["edges"]:
            self.ev.edge(e, 0.6)
        others = [g for g in res["groups"] if g["kind"] not in ROUTINE_KINDS]
        if others:
            yield "\nEverything downstream on the way, by hop:\n"
            for g in others:
                yield f"- {g['hop']} hops, {g['kind']}s: {self._names(g['objects'])}\n"
        yield from self._truncation(res)

    # ------------------------------------------------------------------ writers / routines
    def writers(self, oid: int) -> Iterator[str]:
        name = self.ev.node(oid)
        w = self.t.writers(self.v.objects[oid].canonical_id)
        q = self.question.lower()
        want_read = bool(re.search(r"\b(read|reads|reading|use|uses|query|queries|select|consum|touch)", q))
        want_write = not want_read or bool(
            re.search(r"\b(writ|load|populat|insert|updat|delet|truncat|modif|fill|touch)", q)
        )
        said = False
        if want_write:
            stmts = [s for s in w["statements"] if s["verb"] != "create"]
            writers = w["writer_routines"]
            if writers or stmts:
                said = True
                yield (
                    f"{name} is written by {len(writers)} routine(s): {self._names(writers)}.\n"
                    if writers
                    else f"Statements that write {name}:\n"
                )
                for s in stmts:
                    who = f" in {self.ev.name(s['routine'])}" if s["routine"] else ""
                    yield f"- {s['verb'].upper()}{who}{self._where(s['file'], s['lines'])}\n"
                for e in w["written_by"]:
                    self.ev.edge(e)
                    if not e["via"]:
                        yield f"- from {self.ev.name(e['source'])}{self._where(e['file'], e['lines'])}\n"
            else:
                yield f"No statement in the graph writes {name}.\n"
        if want_read:
            readers = w["reader_routines"]
            views = sorted({e["target"] for e in w["read_by"] if not e["via"]})
            if readers or views:
                said = True
                yield f"{name} is read by: {self._names(readers + views)}.\n"
                for e in w["read_by"]:
                    self.ev.edge(e)
                    yield f"- {self.ev.name(e['via'] or e['target'])} → {self.ev.name(e['target'])}{self._where(e['file'], e['lines'])}\n"
            else:
                yield f"Nothing in the graph reads {name}.\n"
        if w["called_by"]:
            yield "\nThrough procedure calls:\n"
            for routine, callers in w["called_by"].items():
                yield f"- {self.ev.name(routine)} is called by {self._names(callers)}\n"
        if not said and not w["called_by"]:
            return
        cn = self.v.objects[oid].canonical_id
        self.next_actions = [f"What breaks if {cn} changes?", f"Where does {cn} come from?"]

    def routine(self, oid: int) -> Iterator[str]:
        name = self.ev.node(oid)
        d = self.t.node(self.v.objects[oid].canonical_id)
        calls = [
            n
            for n in d["writes"]
            if n.lower() in self.v.by_canonical and self.v.is_routine(self.v.by_canonical[n.lower()])
        ]
        writes = [n for n in d["writes"] if n not in calls]

        def routine(n: str) -> bool:
            return n.lower() in self.v.by_canonical and self.v.is_routine(self.v.by_canonical[n.lower()])

        callers = [n for n in d["reads"] if routine(n)]
        reads = [n for n in d["reads"] if not routine(n)]
        if not reads and not writes and not calls and not d.get("statements"):
            yield f"The graph records no objects read or written by {name}.\n"
            return
        yield f"{name} reads {len(reads)} object(s) and writes {len(writes)}.\n\n"
        if reads:
            yield f"Reads: {self._names(reads)}.\n"
        if writes:
            yield f"Writes: {self._names(writes)}.\n"
        if calls:
            yield f"Calls: {self._names(calls)}.\n"
        if callers:
            yield f"Called by: {self._names(callers)}.\n"
        stmts = d.get("statements") or []
        if stmts:
            yield "\nWhat it does, statement by statement:\n"
            for s in stmts[:MAX_LIST]:
                rw = ""
                if s["verb"] == "call" and s["writes"]:
                    rw = f": calls {self._names(s['writes'])}"
                elif s["writes"] or s["reads"]:
                    rw = f": writes {self._names(s['writes'])}" if s["writes"] else ""
                    rw += (", reading " if rw else ": reads ") + self._names(s["reads"]) if s["reads"] else ""
                elif s.get("target") is None:
                    tgt = _target_of(s.get("source_text") or "", self.v)
                    rw = f": {self.ev.name(tgt)}" if tgt else ""
                yield f"- {s['verb'].upper()}{rw}{self._where(s['file'], s['lines'])}\n"
        if reads and writes:
            yield f"\nData flows from {self._names(reads)} into {self._names(writes)}.\n"
        cn = self.v.objects[oid].canonical_id
        self.next_actions = [f"Which files define {cn}?"]

    # ------------------------------------------------------------------ paths
    def path(self, a: str, b: str) -> Iterator[str]:
        res = self.t.path(a, b)
        na, nb = self.ev.name(res["from"]), self.ev.name(res["to"])
        if not res.get("edges"):
            yield f"There is no lineage path between {na} and {nb} in the graph, in either direction (full depth searched).\n"
            return
        edges = res["edges"]
        if res["reverse"]:
            yield f"Data flows the other way: from {nb} to {na}, in {res['hops']} hop(s).\n"
        else:
            yield f"Data flows from {na} to {nb} in {res['hops']} hop(s).\n"
        yield "Path: " + " → ".join(self.ev.name(n) for n in res["nodes"]) + ".\n\n"
        for e in edges:
            self.ev.edge(e)
            expr = (
                f" as ``{short(e['expression'])}``"
                if e["expression"] and e["granularity"] == "column"
                else ""
            )
            yield f"- {self.ev.name(e['source'])} → {self.ev.name(e['target'])}{expr}{self._via(e['via'])}{self._where(e['file'], e['lines'])}\n"

    # ------------------------------------------------------------------ facts
    def describe(self, oid: int) -> Iterator[str]:
        o = self.v.objects[oid]
        name = self.ev.node(oid)
        d = self.t.node(o.canonical_id)
        df = d["definition"]
        where = f", defined in `{df['file']}`{fmt_lines(df['lines'])}" if df["file"] else ""
        yield f"{name} is a {o.kind}{where}.\n"
        cols = d["columns"]
        if cols:
            shown = ", ".join(
                f"`{c['name']}`" + (f" ({c['data_type']})" if c["data_type"] else "") for c in cols[:MAX_LIST]
            )
            more = f" and {len(cols) - MAX_LIST} more" if len(cols) > MAX_LIST else ""
            yield f"Columns ({len(cols)}): {shown}{more}.\n"
        if o.kind not in ROUTINE_KINDS:
            if d["reads"]:
                yield f"Fed directly by: {self._names(d['reads'])}.\n"
            if d["writes"]:
                yield f"Feeds directly: {self._names(d['writes'])}.\n"
        if d.get("diagnostics"):
            yield (
                "Diagnostics: "
                + "; ".join(f"line {x.get('line')}: {x.get('message')}" for x in d["diagnostics"][:5])
                + "\n"
            )
        wants_code = bool(
            re.search(r"\b(sql|definition|code|ddl|source text|body|show)\b", self.question, re.I)
        )
        if df.get("source_text") and (o.kind not in ROUTINE_KINDS or wants_code):
            lines = df["source_text"].splitlines()
            keep = 60 if wants_code else 15
            snippet = "\n".join(lines[:keep]) + ("\n…" if len(lines) > keep else "")
            yield f"\nDefinition{fmt_lines(df['lines'])}:\n```sql\n{snippet}\n```\n"
        if o.kind in ROUTINE_KINDS:
            yield "\n"
            yield from self.routine(oid)
        self.next_actions = [
            f"Where does {o.canonical_id} come from?",
            f"What breaks if {o.canonical_id} changes?",
        ]

    def describe_column(self, cid: int) -> Iterator[str]:
        c = self.v.columns[cid]
        yield f"{self.ev.column(cid)} is a column of {self.ev.node(c.object_id)}"
        yield f" ({c.data_type}).\n" if c.data_type else ".\n"
        yield from self.upstream_column(cid)

    def files(self, oids: list[int]) -> Iterator[str]:
        for oid in oids[:3]:
            o = self.v.objects[oid]
            name = self.ev.node(oid)
            f = self.v.file_of(oid)
            lines = [o.line_start, o.line_end or o.line_start] if o.line_start else None
            if f:
                yield f"{name} ({o.kind}) is defined in `{f}`{fmt_lines(lines)}.\n"
            else:
                yield f"{name} has no defining file in the graph (it is only referenced: kind {o.kind}).\n"
            w = self.t.writers(o.canonical_id, callers=False)
            other: dict[str, list[int]] = defaultdict(list)
            for s in w["statements"]:
                if s["file"] and s["file"] != f and s["lines"]:
                    other[s["file"]].append(s["lines"][0])
            for e in w["written_by"]:
                if e["file"] and e["file"] != f:
                    self.ev.edge(e)
                    other[e["file"]].append((e["lines"] or [0])[0])
            if other:
                yield "It is also loaded by statements in:\n"
                for path, ls in sorted(other.items()):
                    at = sorted({x for x in ls if x})
                    yield f"- `{path}`" + (f" (line {', '.join(map(str, at[:5]))})" if at else "") + "\n"
        self.next_actions = [f"Where does {self.v.objects[oids[0]].canonical_id} come from?"]

    def schema(self, schema: str) -> Iterator[str]:
        ids = self.v.by_schema.get(schema.lower(), [])
        if not ids:
            yield f"The graph has no schema `{schema}`.\n"
            return
        q = self.question.lower()
        wanted = {k for w, k in _KIND_WORDS.items() if re.search(rf"\b{w}\b", q)}
        if wanted and any(self.v.objects[i].kind in wanted for i in ids):
            ids = [i for i in ids if self.v.objects[i].kind in wanted]
        by_kind: dict[str, list[int]] = defaultdict(list)
        for i in ids:
            by_kind[self.v.objects[i].kind].append(i)
        real = [self.v.objects[i].schema for i in ids if self.v.objects[i].schema]
        yield f"Schema `{real[0] if real else schema}` holds {len(ids)} object(s):\n"
        for kind in sorted(by_kind):
            members = sorted(by_kind[kind], key=lambda i: self.v.objects[i].canonical_id)
            yield f"- {kind}s ({len(members)}): {self._ids(members)}\n"
        self.next_actions = [f"Where does {self.v.objects[ids[0]].canonical_id} come from?"]

    def health(self) -> Iterator[str]:
        h = self.t.failed_files()
        files, objs = h["failed_files"], h["objects_with_diagnostics"]
        errs = [(o, d) for o in objs for d in o["diagnostics"] if (d.get("severity") or "") == "error"]
        if not files and not objs:
            yield "Every ingested file was analysed without errors, and no object has diagnostics.\n"
            return
        if files:
            yield f"{len(files)} file(s) failed to ingest:\n"
            for f in files:
                at = f":{f['line']}" if f["line"] else ""
                yield f"- `{f['file']}`{at}: {f['error'] or 'error'}\n"
        else:
            yield "No file failed outright.\n"
        if objs:
            label = "with errors" if errs else "with diagnostics"
            yield f"\n{len(objs)} object(s) {label} (path:line — why):\n"
            for o in objs[:MAX_LIST]:
                oid = self.v.by_canonical.get(o["object"].lower())
                nm = self.ev.node(oid) if oid is not None else f"`{o['object']}`"
                for d in o["diagnostics"][:3]:
                    at = f"`{o['file']}`" + (f":{d['line']}" if d.get("line") else "") if o["file"] else "?"
                    yield f"- {nm} at {at} — {d.get('severity') or 'warning'} {d.get('code') or ''}: {d.get('message')}\n"
        self.next_actions = ["Which files failed to parse?"]


def _ln(a: int | None, b: int | None) -> list[int] | None:
    return None if a is None else [a, b if b is not None else a]


def _target_of(text: str, v: Vocab) -> str | None:
    m = re.search(
        r"\b(?:delete\s+from|delete|truncate\s+table|update|insert\s+into|merge\s+into)\s+([\w\[\]\".#@]+)",
        text,
        re.I,
    )
    if not m:
        return None
    name = re.sub(r"[\[\]\"]", "", m.group(1)).lower()
    if name in v.by_canonical:
        return v.objects[v.by_canonical[name]].canonical_id
    return None
