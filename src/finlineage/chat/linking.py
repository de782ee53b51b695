"""Entity linking: from the words of a question to objects, columns and schemas of a project.

Rules, strongest first:
* exact qualified names (`[db.]schema.name`, `schema.table.column`, `table.column`), with
  brackets, quotes and backticks stripped;
* bare object names and column names, singular/plural variants;
* multi-word phrases joined by underscores ("unit price" → `unit_price`);
* abbreviations and synonyms learned from the project's own names (`chat.lexicon`: "amount" →
  `amt`, "currency" → `ccy`) and a word that is the stem of column names;
* descriptions: words covering the tokens of an object's or column's name;
* fuzzy matches for typos (difflib ratio ≥ 0.86 on words of 5+ letters).

Common English words are never taken as bare column names. A name that exists in several
objects keeps every candidate (`pick_columns`, `object_candidates`): the engine names them all.
The vocabulary is the store's (`chat.vocab`); nothing here knows any particular warehouse.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from finlineage.chat.lexicon import Lexicon
from finlineage.chat.vocab import Vocab

__all__ = ["STOPWORDS", "Entity", "GraphLinker", "Linked"]

EntityKind = Literal["object", "column", "schema"]

_STOP_TEXT = """
    a about above across after again against all along also am an and any are as at be because been
    before being below between both but by can come comes coming could did do does doing done down
    during each either else every few for from further get gets got had has have having he her here
    hers him his how i if in into is it its itself just least less like made make makes many may me
    might more most much must my no nor not now of off on once only or other our ours out over own
    per please same shall she should show shows so some such than that the their theirs them then
    there these they this those through to too under until up upon us use used uses using very via
    was we were what when where whether which while who whom whose why will with within without
    would you your yours answer anything calculated calculate calculation column columns computed
    compute computation contain contains defined define defines definition definitions depend
    depends dependency dependent dependencies derive derived derives downstream upstream feed feeds
    fed file files flow flows go goes happen happens impact impacted impacts affected affect affects
    break breaks broken change changed changes changing lineage list load loaded loads logic object
    objects origin origins path paths populate populated populates procedure procedures proc procs
    read reads reading write writes writing written schema schemas source sources sourced table
    tables view views tell explain find give me level lineages mean means need needs route reach
    reaches drop dropped rename renamed consumer consumers consume consumes built build builds step
    steps sql code query queries function functions trigger triggers stored field fields value
    values data model models report reports know known end start
"""
STOPWORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
"""Words never linked as bare column names (they are how people ask, not what they ask about)."""

_MEASURES = frozenset(
    [
        "number",
        "numbers",
        "figure",
        "figures",
        "value",
        "values",
        "amount",
        "amounts",
        "total",
        "totals",
        "metric",
    ]
)
_NAME_NOISE = frozenset({"v", "vw", "mv", "fn", "usp", "sp", "tbl", "t", "f"})
_GENERIC = frozenset(
    [
        "data",
        "table",
        "tables",
        "value",
        "values",
        "number",
        "numbers",
        "figure",
        "figures",
        "amount",
        "amounts",
        "id",
        "code",
        "date",
        "type",
        "name",
        "report",
        "reports",
        "list",
        "all",
        "the",
        "of",
        "in",
        "on",
        "usd",
        "local",
        "pct",
        "flag",
    ]
)

_VERB_LEAD = frozenset(["what", "which", "who", "that", "it", "also", "directly", "and", "this"])
_VERB_FOLLOW = frozenset(["the", "into", "a", "an", "this", "that", "it", "from", "these", "those"])

_IDENT = re.compile(r"[A-Za-z_#@][\w$#@]*(?:\.[A-Za-z_#@][\w$#@]*){0,3}")
_WORD = re.compile(r"[A-Za-z_][\w&]*")


@dataclass(slots=True)
class Entity:
    kind: EntityKind
    ids: list[int | str]
    """Candidate ids: object ids, column ids (several when a column name is ambiguous) or a schema."""
    mention: str
    start: int
    end: int
    score: float
    method: str

    @property
    def id(self) -> int | str:
        return self.ids[0]


@dataclass
class Linked:
    entities: list[Entity] = field(default_factory=list)

    def objects(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "object"]

    def columns(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "column"]

    def schemas(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "schema"]

    def ordered(self) -> list[Entity]:
        return sorted(self.entities, key=lambda e: e.start)


def _clean(question: str) -> str:
    text = re.sub(r"[\[\]`\"]", "", question)
    return text


def _variants(word: str) -> list[str]:
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        out.append(word[:-2])
    if word.endswith("s") and len(word) > 3:
        out.append(word[:-1])
    else:
        out.append(word + "s")
    if word.endswith("'s"):
        out.append(word[:-2])
    return out


def _stems(word: str, lexicon: Lexicon | None = None) -> set[str]:
    out = set(_variants(word))
    if word.endswith("ing") and len(word) > 5:
        out.update({word[:-3], word[:-3] + "e"})
    if word.endswith("ed") and len(word) > 4:
        out.update({word[:-2], word[:-1]})
    if word.endswith("ion") and len(word) > 6:
        out.add(word[:-3] + "e")
    if lexicon is not None:
        out.update(lexicon.forms(word))
    return out


def linker_for(index: Vocab) -> GraphLinker:
    """The linker of a snapshot, built once (its name indexes are cached on it)."""
    linker = index.extras.get("linker")
    if linker is None:
        linker = GraphLinker(index)
        index.extras["linker"] = linker
    return linker


class GraphLinker:
    def __init__(self, index: Vocab) -> None:
        self.g = index

    @cached_property
    def _object_names(self) -> list[str]:
        return list(self.g.by_name)

    @cached_property
    def _column_names(self) -> list[str]:
        return list(self.g.cols_by_name)

    def _bucket(self, names: list[str], word: str) -> list[str]:
        """Names sharing the word's first two letters (typos rarely hit both): keeps fuzzy
        matching cheap on large catalogs."""
        key = f"bucket:{id(names)}"
        buckets = self.g.extras.get(key)
        if buckets is None:
            buckets = {}
            for n in names:
                buckets.setdefault(n[:2], []).append(n)
            self.g.extras[key] = buckets
        result: list[str] = buckets.get(word[:2], [])
        return result

    @cached_property
    def _column_stems(self) -> dict[str, list[str]]:
        stems: dict[str, list[str]] = {}
        for name in self.g.cols_by_name:
            head = name.split("_", 1)[0]
            if head != name and len(head) >= 3:
                stems.setdefault(head, []).append(name)
        return stems

    @cached_property
    def _object_name_tokens(self) -> frozenset[str]:
        return frozenset(t for _oid, toks in self._object_tokens for t in toks)

    @cached_property
    def _object_tokens(self) -> list[tuple[int, tuple[str, ...]]]:
        out = []
        for o in self.g.objects.values():
            if o.kind == "external":
                continue
            toks = tuple(t for t in o.name.lower().split("_") if t and t not in _NAME_NOISE)
            if toks:
                out.append((o.id, toks))
        return out

    # ------------------------------------------------------------------ public
    def link(self, question: str) -> Linked:
        text = _clean(question)
        found: list[Entity] = []
        found.extend(self._qualified(text))
        found.extend(self._phrases(text))
        found.extend(self._words(text))
        kept = self._resolve_overlaps(found)
        return Linked(self._descriptive(text, kept))

    # ------------------------------------------------------------------ descriptions
    def _descriptive(self, text: str, kept: list[Entity]) -> list[Entity]:
        """Objects and columns described in words (the words "daily balance report" cover the
        name tokens of an object `daily_balance` in a report layer; "balance amount in dollars"
        covers a column `bal_amt_usd`), and columns of objects so described.

        An object qualifies when the question's words (stemmed, with synonyms) cover all of its
        name's tokens, or at least two of them and 60 %, or half of them plus a word naming its
        schema's layer ("report" → rpt, "feed" → raw). A column qualifies when words cover all
        of its (two or more) name tokens. Candidates are taken best first without sharing words.
        Words inside an exact mention are not used; weaker links inside a description give way
        (stems and fuzzy matches always; bare names too when the description is a column or
        uses two or more words)."""
        g = self.g
        blocked = [(e.start, e.end) for e in kept if e.method == "exact"]
        words: list[tuple[str, int, int]] = []
        for m in _WORD.finditer(text):
            if any(a <= m.start() < b for a, b in blocked):
                continue
            words.append((m.group(0).lower(), m.start(), m.end()))
        if not words:
            return kept
        index: dict[str, set[int]] = {}
        for i, (w, _a, _b) in enumerate(words):
            if w in ("feed", "feeds", "source", "sources") and (
                (i and words[i - 1][0] in _VERB_LEAD)
                or (i + 1 < len(words) and words[i + 1][0] in _VERB_FOLLOW)
            ):
                continue
            forms = _stems(w, g.lexicon) if w not in STOPWORDS else _stems(w)
            if i and w.isdigit():
                forms.add(words[i - 1][0] + w)
            for f in forms:
                index.setdefault(f, set()).add(i)
        schema_hits: dict[str, set[int]] = {}
        for schema in g.by_schema:
            idx: set[int] = set(index.get(schema, set()))
            for alias in g.lexicon.layer_words(schema):
                idx |= index.get(alias, set())
            if idx:
                schema_hits[schema] = idx

        def cover(toks: tuple[str, ...]) -> tuple[int, set[int], bool]:
            used: set[int] = set()
            matched = 0
            significant = False
            for t in toks:
                hit = index.get(t)
                if hit:
                    matched += 1
                    used |= hit
                    if len(t) >= 3 and t not in _GENERIC and t not in STOPWORDS:
                        significant = True
            return matched, used, significant

        # (score, kind, id, words used, name tokens matched)
        cands: list[tuple[float, str, int, frozenset[int], int]] = []
        for oid, toks in self._object_tokens:
            if not any(t in index for t in toks):
                continue
            matched, used, significant = cover(toks)
            if not matched or not significant:
                continue
            cov = matched / len(toks)
            schema = (g.objects[oid].schema or "").lower()
            bonus_words = schema_hits.get(schema, set()) - used
            bonus = 0.6 if bonus_words else 0.0
            if not (cov >= 0.999 or (matched >= 2 and cov >= 0.6) or (bonus and cov >= 0.5)):
                continue
            cands.append((cov + bonus + 0.1 * matched, "object", oid, frozenset(used | bonus_words), matched))
        seen_names: set[str] = set()
        for tok in {t for t in index if t in self._column_token_index}:
            for name in self._column_token_index[tok]:
                if name in seen_names:
                    continue
                seen_names.add(name)
                toks = tuple(t for t in name.split("_") if t and t not in _GENERIC)
                if len(toks) < 2:
                    # one significant token plus generic ones (runoff_pct, amt_usd): every
                    # token must be mentioned, by two or more words
                    toks = tuple(t for t in name.split("_") if t and not t.isdigit())
                    if len(toks) < 2:
                        continue
                    matched, used, significant = cover(toks)
                    significant = significant or len(used) >= 2
                else:
                    matched, used, significant = cover(toks)
                if matched == len(toks) and significant:
                    for cid in g.cols_by_name[name][:1]:
                        cands.append((1.05 + 0.1 * matched, "column", cid, frozenset(used), matched))
        if not cands:
            return kept
        cands.sort(key=lambda c: (-c[0], -len(c[3])))
        accepted: list[tuple[float, str, list[int], frozenset[int], int]] = []
        for score, kind, ident, used_words, n_matched in cands:
            placed = False
            for s_, k_, ids, uw, _n in accepted:
                if k_ == kind and abs(s_ - score) < 1e-6 and uw == used_words:
                    ids.append(ident)
                    placed = True
                    break
                if uw & used_words:
                    placed = True
                    break
            if not placed:
                accepted.append((score, kind, [ident], used_words, n_matched))
        # "the exposure number", "the margin figure": a word naming a measure of an object
        measured = {i for i in range(len(words) - 1) if words[i + 1][0] in _MEASURES}
        out = list(kept)
        for score, kind, ids, used_words, n_matched in accepted:
            start = min(words[i][1] for i in used_words)
            end = max(words[i][2] for i in used_words)
            spans = [(words[i][1], words[i][2]) for i in used_words]
            strong_override = kind == "column" or n_matched >= 2
            removable = {"stem", "fuzzy"} | ({"name", "column", "phrase"} if strong_override else set())
            if kind == "column":
                removable |= {"synonym"}

            def touches(e: Entity, spans: list[tuple[int, int]] = spans) -> bool:
                return any(e.start < b and a < e.end for a, b in spans)

            if kind == "object" and not strong_override:
                # a layer word ("feed", "report") next to a bare name re-targets it to that layer
                schema = (g.objects[ids[0]].schema or "").lower()
                if schema_hits.get(schema, set()) & used_words:
                    for e in out:
                        if (
                            touches(e)
                            and e.method == "name"
                            and e.kind == "object"
                            and all((g.objects[int(i)].schema or "").lower() != schema for i in e.ids)
                        ):
                            e.method = "name-weak"
                    removable |= {"name-weak"}
            clash = [e for e in out if touches(e) and e.method not in removable and e.kind != "schema"]
            if any(e.method in ("exact", "phrase", "name", "column") for e in clash):
                continue
            out = [e for e in out if not (touches(e) and e.method in removable)]
            if kind == "column":
                ids = list(g.cols_by_name[g.columns[ids[0]].name.lower()])
                out.append(Entity("column", list(ids), text[start:end], start, end, 0.8, "description"))
                continue
            out.append(
                Entity("object", list(ids), text[start:end], start, end, 0.5 + 0.1 * score, "description")
            )
            for oid in ids[:1]:
                best: tuple[int, int, int] | None = None
                for cid in g.cols_by_object.get(oid, []):
                    ctoks = [t for t in g.columns[cid].name.lower().split("_") if t]
                    hits = [
                        t
                        for t in ctoks
                        if t in index
                        and len(t) >= 3
                        and t not in _GENERIC
                        and (not (index[t] <= used_words) or index[t] & measured)
                    ]
                    # most words matched, then fewest significant tokens left unmatched
                    rest = sum(1 for t in ctoks if t not in hits and t not in _GENERIC and not t.isdigit())
                    if hits and (best is None or (len(hits), -rest) > (best[0], best[2])):
                        best = (len(hits), cid, -rest)
                if best is not None and not any(e.kind == "column" and best[1] in e.ids for e in out):
                    out = [e for e in out if not (e.kind == "column" and e.method in ("stem", "fuzzy"))]
                    out.append(
                        Entity("column", [best[1]], g.columns[best[1]].name, start, end, 0.55, "description")
                    )
        out.sort(key=lambda e: e.start)
        return out

    @cached_property
    def _column_token_index(self) -> dict[str, list[str]]:
        idx: dict[str, list[str]] = {}
        for name in self.g.cols_by_name:
            for t in set(name.split("_")):
                if t:
                    idx.setdefault(t, []).append(name)
        return idx

    # ------------------------------------------------------------------ passes
    def _qualified(self, text: str) -> list[Entity]:
        out: list[Entity] = []
        g = self.g
        for m in _IDENT.finditer(text):
            raw = re.sub(r"\s", "", m.group(0)).lower()
            if "." not in raw:
                continue
            parts = raw.split(".")
            # try the longest prefix that names an object, the rest is a column
            hit = False
            for cut in range(len(parts), 0, -1):
                prefix = ".".join(parts[:cut])
                rest = parts[cut:]
                obj_ids: list[int] = []
                if prefix in g.by_canonical:
                    obj_ids = [g.by_canonical[prefix]]
                elif cut == 1 and prefix in g.by_name:
                    obj_ids = list(g.by_name[prefix])
                if not obj_ids:
                    continue
                if not rest:
                    out.append(Entity("object", list(obj_ids), m.group(0), m.start(), m.end(), 1.0, "exact"))
                    hit = True
                    break
                if len(rest) == 1:
                    cols = [
                        g.col_by_object_name[(oid, rest[0])]
                        for oid in obj_ids
                        if (oid, rest[0]) in g.col_by_object_name
                    ]
                    if cols:
                        out.append(Entity("column", list(cols), m.group(0), m.start(), m.end(), 1.0, "exact"))
                        hit = True
                        break
            if not hit and len(parts) >= 2:
                # schema.name with a typo, or a schema followed by a word
                schema = parts[0]
                if schema in g.by_schema:
                    names = {g.objects[i].name.lower(): i for i in g.by_schema[schema]}
                    close = difflib.get_close_matches(parts[1], list(names), n=1, cutoff=0.8)
                    if close:
                        oid = names[close[0]]
                        out.append(Entity("object", [oid], m.group(0), m.start(), m.end(), 0.8, "fuzzy"))
        return out

    def _phrases(self, text: str) -> list[Entity]:
        out: list[Entity] = []
        words = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
        g = self.g
        for n in (4, 3, 2):
            for i in range(len(words) - n + 1):
                chunk = words[i : i + n]
                joined = "_".join(w for w, _, _ in chunk)
                start, end = chunk[0][1], chunk[-1][2]
                if joined in g.cols_by_name:
                    ids: list[int | str] = list(g.cols_by_name[joined])
                    out.append(Entity("column", ids, text[start:end], start, end, 0.85, "phrase"))
                elif joined in g.by_name:
                    out.append(
                        Entity("object", list(g.by_name[joined]), text[start:end], start, end, 0.85, "phrase")
                    )
        return out

    def _words(self, text: str) -> list[Entity]:
        out: list[Entity] = []
        g = self.g
        lowered = text.lower()
        mentions_schema = "schema" in lowered
        for m in _WORD.finditer(text):
            word = m.group(0).lower().rstrip("'")
            if word.endswith("'s"):
                word = word[:-2]
            start, end = m.start(), m.end()
            # a word directly followed by '.' and an identifier is part of a qualified name
            if end < len(text) and text[end : end + 1] == "." and re.match(r"\.[A-Za-z_]", text[end:]):
                continue
            if start > 0 and text[start - 1] == ".":
                continue
            if word in g.by_schema:
                out.append(
                    Entity(
                        "schema", [word], m.group(0), start, end, 0.95 if mentions_schema else 0.6, "schema"
                    )
                )
                if mentions_schema:
                    continue
            matched = False
            for v in _variants(word):
                if v in g.by_name and (v not in STOPWORDS or "_" in v):
                    score = 0.9 if v == word else 0.8
                    out.append(Entity("object", list(g.by_name[v]), m.group(0), start, end, score, "name"))
                    matched = True
                    break
            if word in g.cols_by_name and word not in STOPWORDS:
                out.append(
                    Entity("column", list(g.cols_by_name[word]), m.group(0), start, end, 0.88, "column")
                )
                matched = True
            if matched or word in STOPWORDS or len(word) < 2 or word in g.by_schema:
                continue
            # an abbreviation or synonym of a whole name ("currency" -> `ccy`, "amt" -> `amount`)
            forms = [f for f in sorted(g.lexicon.forms(word)) if f != word]
            syn_cols = [f for f in forms if f in g.cols_by_name and f not in STOPWORDS]
            syn_objs = [f for f in forms if f in g.by_name and f not in STOPWORDS]
            if syn_cols or syn_objs:
                if syn_cols:
                    cids: list[int | str] = [i for f in syn_cols for i in g.cols_by_name[f]]
                    out.append(Entity("column", cids, m.group(0), start, end, 0.75, "synonym"))
                else:
                    oids: list[int | str] = [i for f in syn_objs for i in g.by_name[f]]
                    out.append(Entity("object", oids, m.group(0), start, end, 0.75, "synonym"))
                continue
            stems = list(self._column_stems.get(word, []))
            if stems and len(stems) <= 3 and word not in self._object_name_tokens and word not in g.by_schema:
                ids: list[int | str] = []
                for s in stems:
                    ids.extend(g.cols_by_name[s])
                out.append(Entity("column", ids, m.group(0), start, end, 0.7, "stem"))
                continue
            if (len(word) >= 5 and "_" in word) or len(word) >= 6:
                close = difflib.get_close_matches(
                    word, self._bucket(self._object_names, word), n=1, cutoff=0.86
                )
                if close:
                    out.append(
                        Entity("object", list(g.by_name[close[0]]), m.group(0), start, end, 0.6, "fuzzy")
                    )
                    continue
                close = difflib.get_close_matches(
                    word, self._bucket(self._column_names, word), n=1, cutoff=0.88
                )
                if close and close[0] not in STOPWORDS:
                    out.append(
                        Entity(
                            "column", list(g.cols_by_name[close[0]]), m.group(0), start, end, 0.55, "fuzzy"
                        )
                    )
        return out

    # ------------------------------------------------------------------ overlaps
    @staticmethod
    def _resolve_overlaps(found: list[Entity]) -> list[Entity]:
        """Keep the longest, strongest mention for each span of text; object + column on the
        same single word both survive (the engine decides which reading the intent wants)."""
        found.sort(key=lambda e: (-(e.end - e.start), -e.score))
        kept: list[Entity] = []
        for e in found:
            clash = False
            for k in kept:
                if e.start < k.end and k.start < e.end:
                    same_span = e.start == k.start and e.end == k.end
                    if same_span and e.kind != k.kind and e.method in ("column", "name"):
                        continue
                    clash = True
                    break
            if not clash:
                kept.append(e)
        kept.sort(key=lambda e: e.start)
        return kept

    # ------------------------------------------------------------------ disambiguation
    def pick_columns(self, entity: Entity, near_objects: list[int], prefer: str = "sink") -> list[int]:
        """The columns a mention is about, best first; never a silent single pick.

        A column of an object mentioned in the same question wins. Otherwise every candidate is
        kept (the engine names them all), ordered so that columns carrying lineage in the asked
        direction come first (`sink`: most derived — edges in, none out; `source`: edges out)."""
        g = self.g
        cands = list(dict.fromkeys(int(i) for i in entity.ids))
        if len(cands) <= 1:
            return cands
        on_near = [c for c in cands if g.columns[c].object_id in near_objects]
        if on_near:
            return on_near

        def rank(c: int) -> tuple[int, int, str]:
            col = g.columns[c]
            if prefer == "sink":
                key = (0 if col.n_in and not col.n_out else 1 if col.n_in else 2, -col.n_in)
            else:
                key = (0 if col.n_out and not col.n_in else 1 if col.n_out else 2, -col.n_out)
            return (*key, g.col_label(c))

        return sorted(cands, key=rank)

    def object_candidates(self, entity: Entity) -> list[int]:
        """Every object a mention may mean (defined objects before external placeholders)."""
        g = self.g
        ids = list(dict.fromkeys(int(i) for i in entity.ids))
        real = [i for i in ids if g.objects[i].kind != "external"]
        if real and len(real) < len(ids):
            return real
        return ids

    def pick_object(self, entity: Entity, prefer: str = "sink") -> int:
        """The first of `object_candidates` by lineage degree (callers name the others)."""
        cands = self.object_candidates(entity)
        return sorted(cands, key=lambda i: (-self.g.degree(i), self.g.objects[i].canonical_id))[0]
