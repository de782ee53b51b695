"""The offline answer engine: intent + entity linking over the store's vocabulary + the lineage
tools (`chat.tools`, which read through `finlineage.query`) + prose templates (`chat.answers`).

It answers without a language model and states only what the store holds. Rules that keep it
honest on any project:

* a bare name that matches several objects (or columns in several objects) is never picked
  silently: the answer names every candidate and answers for each of the first few;
* a subject that matches nothing gets "not found", what was searched and the nearest names —
  never an answer about something else;
* a follow-up inherits the previous turn's subject only when it has none of its own and refers
  back (a pronoun or an ellipsis such as "and which does it write?");
* walks are full depth; a truncated result says so.

`OfflineAnswer.pieces()` yields the prose as it is produced (the streaming endpoint relays it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from finlineage.chat.answers import Answers
from finlineage.chat.evidence import Evidence, Focus, fmt_lines
from finlineage.chat.intents import SUBJECTLESS, classify
from finlineage.chat.linking import STOPWORDS, Entity, Linked, linker_for
from finlineage.chat.tools import LineageTools
from finlineage.chat.types import RetrievedChunk
from finlineage.chat.vocab import Vocab

__all__ = ["CANNOT_ANSWER", "Evidence", "Focus", "OfflineAnswer", "OfflineEngine"]

CANNOT_ANSWER = "I can't answer that without a language model; here is what I found."
MAX_ANSWERED = 3
"""Candidates of an ambiguous name answered in full (all are named)."""

_BACKREF = re.compile(
    r"\b(it|its|it's|this|that|these|those|they|them|their|there|same|former|latter|one)\b"
    r"|^\s*(and|also|what about|how about|then|ok|so)\b",
    re.I,
)
_ELLIPSIS = re.compile(r"^\s*(and|also|what about|how about|and what about|same for|now)\b", re.I)
_QUESTION_WORDS = frozenset(
    [
        "does",
        "did",
        "come",
        "comes",
        "from",
        "where",
        "what",
        "which",
        "who",
        "how",
        "why",
        "whom",
        "when",
        "is",
        "are",
        "was",
        "were",
        "the",
        "this",
        "that",
        "about",
        "into",
        "onto",
        "over",
        "under",
        "tell",
        "show",
        "give",
        "list",
        "explain",
        "please",
    ]
)
_WRITE_READ = re.compile(
    r"\b(writ\w*|loads?|loaded|loading|populat\w*|insert\w*|updat\w*|delet\w*|truncat\w*|modif\w*|"
    r"reads?|reading|touch\w*|purg\w*|clear\w*|fill\w*)\b",
    re.I,
)
_IDENTISH = re.compile(
    r"`([^`]+)`|\b([A-Za-z_][\w$#@]*(?:\.[A-Za-z_][\w$#@]*)+)\b|\b([a-z][a-z0-9]*_[\w]+)\b"
)


class OfflineAnswer(Answers):
    """One question being answered; iterate `pieces()` for the prose, then read the fields."""

    def __init__(
        self,
        v: Vocab,
        question: str,
        *,
        tools: LineageTools,
        chunks: list[RetrievedChunk] | None,
        focus: Focus | None,
        mode: str,
        chunk_fn: Callable[[], list[RetrievedChunk]] | None = None,
        session: Session | None = None,
    ) -> None:
        self.v = v
        self.t = tools
        self.question = question
        self.session = session
        self._chunks = chunks
        self._chunk_fn = chunk_fn
        self.focus = focus
        self.mode = mode
        self.ev = Evidence(v)
        self.linker = linker_for(v)
        self.linked: Linked = self.linker.link(question)
        self.intents = classify(question)
        self.intent = "unknown"
        self.answered = False
        self.next_actions: list[str] = []
        self.warnings: list[str] = []
        self.focus_out = Focus()
        self.text_parts: list[str] = []
        allowed = v.restrict(tools.repository_id)
        if allowed is not None:
            self.linked = self._restricted(self.linked, allowed)

    def _restricted(self, linked: Linked, allowed: set[int]) -> Linked:
        out: list[Entity] = []
        for e in linked.entities:
            if e.kind == "object":
                e.ids = [i for i in e.ids if int(i) in allowed]
            elif e.kind == "column":
                e.ids = [i for i in e.ids if self.v.columns[int(i)].object_id in allowed]
            if e.ids:
                out.append(e)
        return Linked(out)

    @property
    def chunks(self) -> list[RetrievedChunk]:
        if self._chunks is None:
            self._chunks = self._chunk_fn() if self._chunk_fn is not None else []
        return self._chunks

    def pieces(self) -> Iterator[str]:
        for piece in self._compose():
            self.text_parts.append(piece)
            yield piece

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    # ------------------------------------------------------------------ subjects
    def _subjects(self) -> tuple[list[list[int]], list[list[int]], list[str]]:
        """Object candidate groups, column candidate groups (one group per mention) and schemas."""
        col_level = any(i in self.intents for i in ("calculation", "column_lineage"))
        obj_ents = self.linked.objects()
        col_ents = self.linked.columns()
        if any(e.method == "exact" for e in obj_ents + col_ents):
            # a qualified name was given: weak readings of other words are not subjects
            weak = ("stem", "synonym", "fuzzy")
            obj_ents = [e for e in obj_ents if e.method not in weak]
            col_ents = [e for e in col_ents if e.method not in weak]
        col_ents = sorted(col_ents, key=lambda e: (e.method != "exact", e.start))
        if obj_ents and col_ents:
            obj_spans = {(e.start, e.end) for e in obj_ents}
            # one word that names both an object and a column: the object, unless the question
            # is about columns (a column described next to its object stays)
            col_ents = [
                c
                for c in col_ents
                if (c.start, c.end) not in obj_spans or col_level or c.method == "description"
            ]
            if col_level:
                col_spans = {(c.start, c.end) for c in col_ents if c.method != "name"}
                obj_ents = [e for e in obj_ents if (e.start, e.end) not in col_spans]
        objs = [self.linker.object_candidates(e) for e in obj_ents]
        named_schemas = {str(e.id).lower() for e in self.linked.schemas()}
        if named_schemas:  # "the customers table in core": the schema narrows a bare name
            objs = [
                [o for o in g if (self.v.objects[o].schema or "").lower() in named_schemas] or g for g in objs
            ]
        flat = [o for g in objs for o in g]
        prefer = "source" if self.intents and self.intents[0] == "impact" else "sink"
        cols = [self.linker.pick_columns(ce, flat, prefer=prefer) for ce in col_ents]
        col_objs = {self.v.columns[c].object_id for g in cols for c in g}
        if cols:  # an object that only qualifies a column is not a subject
            objs = [g for g in objs if not (len(g) == 1 and g[0] in col_objs)]
        return objs, cols, [str(s.id) for s in self.linked.schemas()]

    def _unresolved(self) -> list[str]:
        """Identifier-like words of the question that no entity covers (e.g. a qualified name
        that does not exist)."""
        spans = [(e.start, e.end) for e in self.linked.entities]
        out: list[str] = []
        for m in _IDENTISH.finditer(self.question):
            word = next(g for g in m.groups() if g)
            a, b = m.span()
            if any(s < b and a < e for s, e in spans):
                continue
            low = word.lower().strip("`")
            if low in STOPWORDS or low.endswith(".sql") or "/" in low:
                continue
            out.append(word)
        return out

    # ------------------------------------------------------------------ driver
    def _compose(self) -> Iterator[str]:
        objs, cols, schemas = self._subjects()
        unresolved = self._unresolved()
        own = bool(objs or cols or schemas or unresolved)
        needs_subject = not (self.intents and self.intents[0] in SUBJECTLESS)
        if not own and needs_subject and self.focus is not None and _BACKREF.search(self.question):
            objs = [[o] for o in self.focus.objects[:1]]
            cols = [[c] for c in self.focus.columns[:1]]
            if not self.intents and self.focus.intent:
                self.intents = [self.focus.intent]
        if (
            own
            and not self.intents
            and self.focus is not None
            and self.focus.intent
            and _ELLIPSIS.search(self.question)
        ):  # "what about X?": the previous question, asked about X
            self.intents = [self.focus.intent]
        if unresolved and not objs and not cols and needs_subject:
            self.intent = "unknown"
            yield from self._not_found(unresolved)
            return
        self.focus_out = Focus(
            objects=[g[0] for g in objs][:5], columns=[g[0] for g in cols][:5], intent=None
        )
        handled = False
        for intent in [*self.intents, "describe"]:
            gen = self._dispatch(intent, objs, cols, schemas)
            if gen is None:
                continue
            self.intent = intent
            handled = True
            yield from gen
            break
        if not handled:
            self.intent = "unknown"
            yield from self._cannot_answer()
            return
        self.focus_out.intent = self.intent
        self.answered = True
        if self.mode in ("semantic", "deep") and self.chunks:
            yield from self._related_chunks(limit=3)

    def _each(
        self,
        groups: list[list[int]],
        what: str,
        fn: Callable[[int], Iterator[str]],
        label: Callable[[int], str],
    ) -> Iterator[str]:
        """Answer for the first mention; an ambiguous one names every candidate and is answered
        for each of the first few."""
        cands = groups[0]
        if len(cands) == 1:
            yield from fn(cands[0])
            return
        names = ", ".join(f"`{label(c)}`" for c in cands[:20])
        more = f" and {len(cands) - 20} more" if len(cands) > 20 else ""
        yield f"That name matches {len(cands)} {what}: {names}{more}.\n"
        shown = cands[:MAX_ANSWERED]
        if len(cands) > len(shown):
            yield f"Answering for the first {len(shown)}; name the one you mean for the others.\n"
        else:
            yield "Answering for each; name the one you mean to narrow it down.\n"
        for c in shown:
            yield f"\n**{label(c)}**\n"
            yield from fn(c)

    def _dispatch(
        self, intent: str, objs: list[list[int]], cols: list[list[int]], schemas: list[str]
    ) -> Iterator[str] | None:
        v = self.v

        def olabel(i: int) -> str:
            return v.objects[i].canonical_id

        clabel = v.col_label
        if intent == "health":
            return self.health()
        if intent == "path":
            ends: list[str] = []
            for m in self._mentions(objs, cols):
                ends.append(m)
            if len(ends) >= 2:
                return self.path(ends[0], ends[1])
            return None
        if intent == "reports":
            if cols:
                return self._each(
                    cols, "columns", lambda c: self.reports(clabel(c), self.ev.column(c)), clabel
                )
            if objs:
                return self._each(objs, "objects", lambda o: self.reports(olabel(o), self.ev.node(o)), olabel)
            return None
        if intent == "proc_io":
            routines = [g for g in objs if all(v.is_routine(o) for o in g)]
            if routines:
                return self._each(routines, "routines", self.routine, olabel)
            if (
                objs
                and not cols
                and _WRITE_READ.search(self.question)
                and "file" not in self.question.lower()
            ):
                return self._each(objs, "objects", self.writers, olabel)
            return None
        if intent == "calculation":
            if cols:
                return self._each(cols, "columns", self.calculation, clabel)
            if objs:
                return self._each(objs, "objects", self.object_calculation, olabel)
            return None
        if intent in ("column_lineage", "upstream"):
            if cols:
                return self._each(cols, "columns", self.upstream_column, clabel)
            if objs:
                fn = self.object_calculation if intent == "column_lineage" else self.upstream_object
                return self._each(objs, "objects", fn, olabel)
            return None
        if intent == "impact":
            if cols:
                return self._each(cols, "columns", self.impact_column, clabel)
            if objs:
                return self._each(objs, "objects", self.impact_object, olabel)
            return None
        if intent == "files":
            targets = [g[0] for g in objs] or [v.columns[g[0]].object_id for g in cols]
            if targets:
                return self._chain(self.files(list(dict.fromkeys(targets))), self._related_chunks(limit=5))
            if self.chunks:
                return self._files_by_search()
            return None
        if intent == "schema":
            if schemas and ((not objs and not cols) or "schema" in self.question.lower()):
                return self.schema(schemas[0])
            return None
        if intent == "describe":
            if cols and not objs and re.match(r"\s*explain\b", self.question, re.I):
                return self._each(cols, "columns", self.calculation, clabel)
            if objs:
                return self._each(objs, "objects", self.describe, olabel)
            if cols:
                return self._each(cols, "columns", self.describe_column, clabel)
            if schemas:
                return self.schema(schemas[0])
            return None
        return None

    def _mentions(self, objs: list[list[int]], cols: list[list[int]]) -> list[str]:
        """Qualified names of the mentions in question order (for paths)."""
        out: list[tuple[int, str]] = []
        for e in self.linked.ordered():
            if e.kind == "object":
                ids = self.linker.object_candidates(e)
                if any(ids == g for g in objs):
                    out.append((e.start, self.v.objects[ids[0]].canonical_id))
            elif e.kind == "column":
                for g in cols:
                    if g and g[0] in [int(i) for i in e.ids]:
                        out.append((e.start, self.v.col_label(g[0])))
                        break
        names = [n for _, n in sorted(out)]
        if len(names) >= 2 and sum("." in n and n.count(".") >= 2 for n in names[:2]) == 1:
            # one column and one object: compare objects
            names = [n if n.lower() in self.v.by_canonical else n.rpartition(".")[0] for n in names]
        return list(dict.fromkeys(names))

    # ------------------------------------------------------------------ honesty
    def _not_found(self, words: list[str]) -> Iterator[str]:
        self.answered = False
        for w in words[:3]:
            info = self.t.unknown(w)
            yield f"I found nothing named `{w}` in project `{self.v.project_name}`.\n"
            yield f"Searched: {info['searched']}.\n"
            if info["suggestions"]:
                yield "Nearest names: " + ", ".join(self.ev.name(s) for s in info["suggestions"]) + ".\n"
        self.next_actions = [f"Where does {s} come from?" for s in self.t.nearest(words[0], 2)]

    def _subject_words(self) -> str:
        """The content words of a question whose subject matched nothing ("the cash ladder
        report" → "cash ladder report")."""
        words = [
            w
            for w in re.findall(r"[A-Za-z][\w]*", self.question)
            if w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS and len(w) >= 3
        ]
        return " ".join(words[:5])

    def _cannot_answer(self) -> Iterator[str]:
        ents = [e for e in self.linked.ordered() if e.kind in ("object", "column")]
        needs_subject = any(i not in SUBJECTLESS for i in self.intents)
        subject = self._subject_words()
        if needs_subject and not ents and subject:
            # a lineage question about something that is not in the store: say so, never guess
            yield from self._not_found([subject])
            return
        yield CANNOT_ANSWER + "\n"
        found = False
        if ents:
            found = True
            names = []
            for e in ents:
                if e.kind == "object":
                    names += [self.ev.node(int(i)) for i in e.ids[:5]]
                else:
                    names += [self.ev.column(int(i)) for i in e.ids[:5]]
            yield "\nNames your question mentions: " + ", ".join(dict.fromkeys(names)) + ".\n"
        if self.chunks:
            found = True
            yield "\nThe most relevant code:\n"
            for ch in self.chunks[:5]:
                self.ev.chunk(ch)
                where = f"`{ch.file}`{fmt_lines(ch.lines())}" if ch.file else ch.source_id
                obj = f" — {self.ev.node(ch.object_id)}" if ch.object_id in self.v.objects else ""
                yield f"- {where}{obj}\n"
        if not found:
            yield "\nNothing in the lineage graph matches the question.\n"
        self.next_actions = [
            "Where does <object> come from?",
            "What breaks if <object> changes?",
            "How is <column> calculated?",
        ]

    @staticmethod
    def _chain(*parts: Iterator[str]) -> Iterator[str]:
        for part in parts:
            yield from part

    def _files_by_search(self) -> Iterator[str]:
        """No object named: the files of the code that best matches the question (keywords)."""
        yield "No object is named in the question; the code that matches it best is in:\n"
        for ch in self.chunks[:3]:
            self.ev.chunk(ch)
            where = f"`{ch.file}`{fmt_lines(ch.lines())}" if ch.file else ch.source_id
            obj = f" ({self.ev.node(ch.object_id)})" if ch.object_id in self.v.objects else ""
            yield f"- {where}{obj}\n"
        self.next_actions = ["Which files define <object>?"]

    def _related_chunks(self, limit: int) -> Iterator[str]:
        lines: list[str] = []
        for ch in self.chunks[:limit]:
            self.ev.chunk(ch)
            where = f"`{ch.file}`{fmt_lines(ch.lines())}" if ch.file else ch.source_id
            obj = f" ({self.ev.node(ch.object_id)})" if ch.object_id in self.v.objects else ""
            lines.append(f"- {where}{obj}\n")
        if lines:
            yield "\nRelated code:\n"
            yield from lines


class OfflineEngine:
    """Stateless; build one per process and call `start` per question."""

    def start(
        self,
        v: Vocab,
        question: str,
        *,
        tools: LineageTools,
        chunks: list[RetrievedChunk] | None = None,
        focus: Focus | None = None,
        mode: str = "graph",
        chunk_fn: Callable[[], list[RetrievedChunk]] | None = None,
        session: Session | None = None,
    ) -> OfflineAnswer:
        return OfflineAnswer(
            v,
            question,
            tools=tools,
            chunks=chunks,
            focus=focus,
            mode=mode,
            chunk_fn=chunk_fn,
            session=session,
        )
