"""dbt evidence: the facts parsed from a model's compiled SQL, put back onto the model's own file.

The engine parses dbt's compiled SQL (``parse text``: ``create view|table <relation> as`` in
front of compiled line 1, then dbt's compiled code line for line, then one trailing comment line
``-- finlineage:dbt {json}`` with what the manifest and catalog say about the objects). What is
stored and served as evidence is the file the user wrote: the raw Jinja ``.sql`` (or, when the
upload does not have it, the manifest's ``raw_code`` — flagged with a diagnostic), so every line
number in the facts is translated to a line of that file:

* **Alignment.** Each line is reduced to its identifier and number tokens (lower case). In the
  raw file, Jinja comments/tags/expressions are masked out, but the quoted arguments of an
  expression count as tokens of its line (``{{ ref('orders') }}`` → ``orders``, which is the last
  part of the compiled relation name; the ephemeral CTE name ``__dbt__cte__orders`` counts as
  ``orders``). Two lines are similar when the Jaccard index of their token sets is at least
  ``MIN_SIMILARITY``. A monotone alignment maximising the total similarity is computed by dynamic
  programming; it lets several compiled lines map to one raw line (a macro or a ``{% for %}``
  loop expanding into several lines). Only aligned lines are *anchors*; nothing is guessed by
  position alone, except one case: when the only raw line between two anchored stretches is a
  Jinja expression (``{{ my_macro(...) }}``), the compiled lines between the same stretches are
  what it expanded into and anchor on it.
* **Statements and objects** of a model file stand for the whole model: their span is the whole
  raw file (dbt runs the file as one statement), so the evidence is the text the user wrote,
  ``config`` call and Jinja included.
* **Column edges** point at the select item that produces their target column: the last line of
  the statement's compiled text that names the column as an alias (``... as col``) or ends with it
  (``col,``), searched from the end (the outermost select comes last, CTEs before it). If that
  compiled line is an anchor, the edge's span is its raw line; otherwise (the item comes out of
  a macro, or the column comes from ``select *``) it keeps the statement's span (the whole file).
* **Diagnostics** move to the anchor at or before their compiled line (the message keeps the
  compiled line number); their column stays only when that raw line is the compiled line as
  written. A diagnostic the engine places at its statement only (no column: an unresolved
  column, a ``*`` of unknown columns) first moves to the statement's first compiled line naming
  what it is about (the name its message quotes, else the relation it names). A model reading a
  source/seed of unknown columns (meta ``unknown``) gets that dbt name added to the diagnostics
  mentioning its relation. **Chunks** get the raw text of their span.
* Tokens of a qualified name are its last part only (``"db"."main"."t"`` → ``t``): dbt renders
  a relation's qualifiers from config, the raw text names only the model or table.
* Sources and seeds whose YAML / CSV file the ingest has (``origin`` ``declared``): the stored
  file is that file, and each generated ``create table`` maps to its table's declaration (the
  ``- name:`` entry of the YAML, the CSV's header line). Without it the stored text is the
  generated DDL itself (``origin`` ``generated``, its first line says so), mapped line for line,
  like a model whose only text is its compiled code (``origin`` ``compiled``).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from difflib import SequenceMatcher
from typing import Any

MIN_SIMILARITY = 0.5
META_PREFIX = "-- finlineage:dbt "
MAX_DP_CELLS = 1_000_000
"""Above this many (compiled × raw) line pairs in one gap, only identical token sets anchor there."""

_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
_STRING = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?")
_EXPRESSION = re.compile(r"\{\{.*?\}\}")
_CTE = "__dbt__cte__"


def meta_line(meta: dict[str, Any]) -> str:
    """The trailing comment line of a parse text (SQL comment: the engine ignores it)."""
    return META_PREFIX + json.dumps(meta, separators=(",", ":"), sort_keys=True) + "\n"


def split_meta(parse_text: str) -> tuple[str, dict[str, Any]]:
    """(parse text without the meta line, meta)."""
    body, sep, tail = parse_text.rstrip("\n").rpartition("\n")
    if sep and tail.startswith(META_PREFIX):
        try:
            meta = json.loads(tail[len(META_PREFIX) :])
        except ValueError:
            meta = {}
        return body + "\n", meta if isinstance(meta, dict) else {}
    return parse_text, {}


_PART = r"""(?:"[^"\n]*"|`[^`\n]*`|\[[^\]\n]*\]|[A-Za-z_][A-Za-z0-9_$]*)"""
_QUALIFIED = re.compile(rf"(?:{_PART}\s*\.\s*)+({_PART})")
"""A qualified name (``"db"."schema"."t"``, ``t.col``): only its last part is a token (dbt
renders the qualifiers of a relation from config; the raw text names only the model/table)."""


def _tokens(text: str) -> set[str]:
    out = set()
    text = _QUALIFIED.sub(lambda m: m.group(1).strip('"`[]'), text)
    for t in _TOKEN.findall(text):
        t = t.lower()
        out.add(t[len(_CTE) :] if t.startswith(_CTE) else t)
    return out


def raw_line_tokens(raw: str) -> list[set[str]]:
    """Tokens of each raw line: SQL outside Jinja, plus quoted arguments inside ``{{ }}``."""
    lines = raw.split("\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)
    extra: dict[int, set[str]] = {}

    def mask(m: re.Match[str]) -> str:
        chunk = m.group(0)
        if chunk.startswith("{{"):
            line = bisect_right(starts, m.start()) - 1
            for a, b in _STRING.findall(chunk):
                extra.setdefault(line, set()).update(_tokens(a or b))
        return re.sub(r"[^\n]", " ", chunk)

    masked = _JINJA.sub(mask, raw).split("\n")
    return [_tokens(ln) | extra.get(i, set()) for i, ln in enumerate(masked)]


def _similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def align(compiled: str, raw: str) -> dict[int, int]:
    """Anchors: 1-based compiled line → 1-based raw line (monotone, many-to-one allowed).

    Lines dbt left untouched (identical text, the bulk of a model) anchor first, by a longest
    matching blocks diff; the similarity alignment only runs in the gaps between those blocks,
    so a model costs about its length, not the product of its two lengths."""
    comp = [_tokens(ln) for ln in compiled.split("\n")]
    rawt = raw_line_tokens(raw)
    # a line without tokens (blank, a lone bracket) never anchors a block: each is unique
    comp_lines = [ln.rstrip() if comp[i] else f"\0c{i}" for i, ln in enumerate(compiled.split("\n"))]
    raw_lines = [ln.rstrip() if rawt[j] else f"\0r{j}" for j, ln in enumerate(raw.split("\n"))]
    anchors: dict[int, int] = {}
    pc = pr = 0
    raw_text_lines = raw.split("\n")
    blocks = SequenceMatcher(None, comp_lines, raw_lines, autojunk=False).get_matching_blocks()
    for a, b, size in blocks:
        for i, j in _align_gap(comp[pc:a], rawt[pr:b]).items():
            anchors[pc + i] = pr + j
        if b - pr == 1 and _EXPRESSION.search(raw_text_lines[pr]):
            # the gap's only raw line is a Jinja expression (a macro call): the compiled lines
            # between the same two anchors are what it expanded into
            for i in range(pc, a):
                if comp[i]:
                    anchors.setdefault(i + 1, pr + 1)
        for k in range(size):
            if comp[a + k]:  # a blank line or pure punctuation anchors nothing
                anchors[a + k + 1] = b + k + 1
        pc, pr = a + size, b + size
    return anchors


def _align_gap(comp: list[set[str]], rawt: list[set[str]]) -> dict[int, int]:
    """The similarity alignment of a gap (1-based within the gap)."""
    n, m = len(comp), len(rawt)
    if not n or not m:
        return {}
    if n * m > MAX_DP_CELLS:
        return _exact_anchors(comp, rawt)
    postings: dict[str, list[int]] = {}
    for j, toks in enumerate(rawt):
        for t in toks:
            postings.setdefault(t, []).append(j)
    weight: list[dict[int, float]] = []
    for toks in comp:
        cands = {j for t in toks for j in postings.get(t, ())}
        weight.append({j: s for j in cands if (s := _similarity(toks, rawt[j])) >= MIN_SIMILARITY})
    # F[i][j]: best total over compiled 1..i, raw 1..j; compiled i may reuse raw j (macro, loop)
    prev = [0.0] * (m + 1)
    choice: list[bytearray] = []
    for i in range(1, n + 1):
        cur = [0.0] * (m + 1)
        took = bytearray(m + 1)
        w = weight[i - 1]
        for j in range(1, m + 1):
            left = cur[j - 1]
            up = prev[j] + w.get(j - 1, 0.0)
            if up >= left:
                cur[j] = up
                took[j] = 1
            else:
                cur[j] = left
        choice.append(took)
        prev = cur
    anchors: dict[int, int] = {}
    i, j = n, m
    while i > 0 and j > 0:
        if choice[i - 1][j]:
            if weight[i - 1].get(j - 1, 0.0) > 0:
                anchors[i] = j
            i -= 1
        else:
            j -= 1
    return anchors


def _exact_anchors(comp: list[set[str]], rawt: list[set[str]]) -> dict[int, int]:
    """Large files: lines whose token sets are equal and unique on both sides, kept monotone."""

    def unique(rows: list[set[str]]) -> dict[frozenset[str], int]:
        seen: dict[frozenset[str], int] = {}
        dup: set[frozenset[str]] = set()
        for k, toks in enumerate(rows):
            key = frozenset(toks)
            if not key:
                continue
            if key in seen:
                dup.add(key)
            seen[key] = k
        return {k: v for k, v in seen.items() if k not in dup}

    r = unique(rawt)
    out: dict[int, int] = {}
    last = -1
    for key, i in sorted(unique(comp).items(), key=lambda kv: kv[1]):
        j = r.get(key)
        if j is not None and j > last:
            out[i + 1] = j + 1
            last = j
    return out


class LineMap:
    """Compiled (= parse) lines → lines of the stored original file."""

    def __init__(self, anchors: dict[int, int], raw_lines: int, *, whole: tuple[int, int] | None) -> None:
        self.anchors = anchors
        self.sorted = sorted(anchors)
        self.raw_lines = max(1, raw_lines)
        self.whole = whole
        """The span statements and objects get (a model file: all of it); None: map line for line."""

    def line(self, n: int) -> int:
        if self.whole is None:
            return min(max(1, n), self.raw_lines)
        k = bisect_right(self.sorted, n) - 1
        if k >= 0:
            return self.anchors[self.sorted[k]]
        return self.whole[0]

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.whole is None:
            return self.line(start), self.line(end)
        return self.whole


class SpanMap(LineMap):
    """A YAML / CSV file that declares tables: everything a generated ``create table`` statement
    produced points at the declaration of its table (``spans``: parse line of the statement →
    raw span), anything else at the whole file."""

    def __init__(self, spans: dict[int, tuple[int, int]], raw_lines: int) -> None:
        super().__init__({}, raw_lines, whole=(1, max(1, raw_lines)))
        self.spans = spans
        self.starts = sorted(spans)

    def span(self, start: int, end: int) -> tuple[int, int]:
        k = bisect_right(self.starts, start) - 1
        return self.spans[self.starts[k]] if k >= 0 else (self.whole or (1, 1))

    def line(self, n: int) -> int:
        return self.span(n, n)[0]


_ALIAS = r"""\bas\s+[`"\[]?{c}[`"\]]?(?![\w$])"""
_TRAILING = r"""(?:^|[\s,.(])[`"\[]?{c}[`"\]]?\s*,?\s*(?:--.*)?$"""
_LISTED = (
    r"""^\s*select\s+(?:distinct\s+)?(?:.*?,\s*)?(?:[\w$`"\[\]]+\.)*[`"\[]?{c}[`"\]]?"""
    r"""\s*(?:,|\bfrom\b|--|$)"""
)
"""A select list on one line (``select a, b, c from t``): the column as one of its bare items."""
_CLAUSE = re.compile(
    r"\s*(?:group|order|partition|cluster|distribute|sort)\s+by\b|\s*(?:where|from|join|on|using|having|"
    r"qualify|and|or|when|then|else|limit|union|intersect|except|inner|left|right|full|cross)\b",
    re.IGNORECASE,
)
"""A line that continues a clause, not a select item (``group by desk`` does not produce ``desk``)."""


def item_line(compiled_lines: list[str], start: int, end: int, column: str) -> int | None:
    """The compiled line (1-based, within ``start..end``) of the select item producing ``column``."""
    name = re.escape(column)
    for pattern in (_ALIAS, _TRAILING, _LISTED):
        rx = re.compile(pattern.format(c=name), re.IGNORECASE)
        for n in range(min(end, len(compiled_lines)), max(start, 1) - 1, -1):
            line = compiled_lines[n - 1]
            if rx.search(line) and (pattern is not _TRAILING or not _CLAUSE.match(line)):
                return n
    return None


_LINE_COMMENT = re.compile(r"--.*$")
_QUOTED_NAME = re.compile(r"'([A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)*)'")
_DOTTED_NAME = re.compile(r"\b[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+")


def named_line(compiled_lines: list[str], start: int, end: int, message: str) -> int | None:
    """The first compiled line (1-based, within ``start..end``) naming what a diagnostic is about:
    the name its message quotes, else the qualified name it mentions (a relation), by its last
    part, outside ``--`` comments; None when no line names it."""
    m = _QUOTED_NAME.search(message) or _DOTTED_NAME.search(message)
    if m is None:
        return None
    name = m.group(m.lastindex or 0).rsplit(".", 1)[-1].lower()
    for n in range(max(start, 1), min(end, len(compiled_lines)) + 1):
        if name in _tokens(_LINE_COMMENT.sub("", compiled_lines[n - 1])):
            return n
    return None


def _raw_column(
    n: int, column: Any, compiled_lines: list[str], raw_lines: list[str], lm: LineMap, prefix: int
) -> int | None:
    """A compiled line's column on the raw line it maps to, when that raw line is the compiled
    line as written (dbt left it untouched); else None (no column is guessed)."""
    if not isinstance(column, int) or n > len(compiled_lines):
        return None
    raw = lm.anchors.get(n) if lm.whole is not None else n  # line for line: the stored text is it
    if raw is None:
        return None
    if raw > len(raw_lines) or compiled_lines[n - 1].rstrip() != raw_lines[raw - 1].rstrip():
        return None
    col = column - (prefix if n == 1 else 0)  # line 1 of the parse text starts with `create ... as `
    return col if col >= 1 else None


def onto_original_text(facts: dict[str, Any], raw_text: str, parse_text: str) -> dict[str, Any]:
    """The facts of ``parse_text`` with every line, text and name-level doc put on ``raw_text``."""
    parse_body, meta = split_meta(parse_text)
    raw_lines = raw_text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    raw_lines = [ln[:-1] if ln.endswith("\r") else ln for ln in raw_lines]
    origin = str(meta.get("origin") or "file")
    prefix = int(meta.get("prefix") or 0)
    compiled_lines = parse_body.split("\n")
    if compiled_lines:
        compiled_lines[0] = compiled_lines[0][prefix:]
    if origin == "declared":
        spans = {
            int(o["line"]): (int(o["span"][0]), int(o["span"][1]))
            for o in meta.get("objects") or []
            if isinstance(o, dict) and isinstance(o.get("span"), list) and len(o["span"]) == 2
        }
        lm: LineMap = SpanMap(spans, len(raw_lines))
    elif origin in ("file", "manifest"):
        last = max((i + 1 for i, ln in enumerate(raw_lines) if ln.strip()), default=1)
        lm = LineMap(align("\n".join(compiled_lines), "\n".join(raw_lines)), len(raw_lines), whole=(1, last))
    else:
        lm = LineMap({}, len(raw_lines), whole=None)

    def text_of(s: int, e: int) -> str:
        return "\n".join(raw_lines[s - 1 : e])

    # objects: docs and catalog types (matched by the parse line their CREATE starts on)
    by_line = {int(o["line"]): o for o in meta.get("objects") or [] if isinstance(o, dict) and "line" in o}
    descriptions: dict[str, tuple[str | None, dict[str, str]]] = {}
    for obj in facts["objects"]:
        doc = by_line.get(int(obj["line_start"] or 0))
        if doc is not None:
            _annotate(obj, doc, descriptions)
        s, e = lm.span(obj["line_start"], obj["line_end"])
        obj["line_start"], obj["line_end"] = s, e
        obj["definition"] = text_of(s, e)
    spans = {idx: lm.span(ls, le) for idx, ls, le, *_ in facts["statements"]}
    compiled_span = {idx: (ls, le) for idx, ls, le, *_ in facts["statements"]}
    facts["statements"] = [(idx, *spans[idx], *rest) for idx, _ls, _le, *rest in facts["statements"]]
    facts["table_edges"] = [
        (*e[:6], *spans.get(e[5], lm.span(e[6], e[7])), *e[8:]) for e in facts["table_edges"]
    ]
    edges = []
    for e in facts["column_edges"]:
        ls, le = spans.get(e[5], lm.span(e[6], e[7]))
        cs, ce = compiled_span.get(e[5], (e[6], e[7]))
        column = str(e[1]).rsplit(".", 1)[-1]
        hit = item_line(compiled_lines, cs, ce, column) if origin in ("file", "manifest") else None
        if hit is not None and hit in lm.anchors:
            ls = le = lm.anchors[hit]
        edges.append((*e[:6], ls, le, *e[8:]))
    facts["column_edges"] = edges
    facts["chunks"] = [
        (owner, *lm.span(ls, le), text_of(*lm.span(ls, le))) for owner, ls, le, _ in facts["chunks"]
    ]
    parsed = {
        "file": "compiled SQL",
        "manifest": "compiled SQL",
        "compiled": "compiled SQL",
        "declared": "generated DDL",
    }
    unknown = {str(k).lower(): str(v) for k, v in (meta.get("unknown") or {}).items()}
    seen: set[int] = set()
    for key in ("diagnostics", "errors"):
        for d in facts.get(key) or []:
            if id(d) in seen:  # ``errors`` holds the same dicts as ``diagnostics``
                continue
            seen.add(id(d))
            if d.get("line") is None or origin not in parsed:
                continue
            n, col = int(d["line"]), d.get("column")
            if col is None and origin in ("file", "manifest", "compiled"):
                # placed at its statement only: the statement's line that names what it is about
                lo, hi = compiled_span.get(d.get("statement_index"), (n, len(compiled_lines)))
                n = named_line(compiled_lines, max(lo, n), hi, str(d["message"])) or n
            msg = str(d["message"]).lower()
            about = next(
                (v for k, v in unknown.items() if re.search(rf"(?<![\w.]){re.escape(k)}(?!\w)", msg)), None
            )
            if about is not None:
                d["message"] = f"{d['message']}; {about}"
            d["message"] = f"{d['message']} ({parsed[origin]} line {n})"
            d["line"], d["column"] = lm.line(n), _raw_column(n, col, compiled_lines, raw_lines, lm, prefix)
    flags = {
        "manifest": (
            "dbt_raw_code_from_manifest",
            "the model's .sql file is not in this ingest: its text is the manifest's raw_code",
        ),
        "compiled": (
            "dbt_compiled_code_only",
            "neither the model's .sql file nor its raw code is available: its text is dbt's compiled SQL",
        ),
    }
    if origin in flags:
        code, message = flags[origin]
        facts["diagnostics"].append(
            {
                "code": code,
                "message": message,
                "severity": "info",
                "line": 1,
                "column": None,
                "statement_index": None,
            }
        )
    if descriptions:
        facts["descriptions"] = descriptions
    return facts


def _annotate(
    obj: dict[str, Any], doc: dict[str, Any], descriptions: dict[str, tuple[str | None, dict[str, str]]]
) -> None:
    """Column types as the catalog (the warehouse) or the manifest's ``data_type`` spell them,
    else the engine's; the catalog's columns when the engine found none (e.g. ``select *`` of a
    relation it does not know); the columns dbt's materialisation adds (``added``: a snapshot's
    ``dbt_valid_from``, ...) after the select's own."""
    types = {str(k).lower(): v for k, v in (doc.get("types") or {}).items() if isinstance(v, str) and v}
    untyped = {str(k).lower() for k in doc.get("untyped") or ()}  # a generated DDL's placeholder type
    if obj["columns"]:
        obj["columns"] = [
            (n, o, None if str(n).lower() in untyped else types.get(str(n).lower()) or t)
            for n, o, t in obj["columns"]
        ]
    elif doc.get("types"):
        obj["columns"] = [(n, i + 1, t or None) for i, (n, t) in enumerate(doc["types"].items())]
    have = {str(n).lower() for n, _, _ in obj["columns"]}
    if obj["columns"] and "*" not in have:  # a snapshot's validity columns (no lineage: dbt sets them)
        for name in doc.get("added") or ():
            if str(name).lower() not in have:
                have.add(str(name).lower())
                obj["columns"].append((str(name), len(obj["columns"]) + 1, types.get(str(name).lower())))
    cols = {str(k): str(v) for k, v in (doc.get("columns") or {}).items() if v}
    desc = doc.get("description") or None
    descriptions[obj["canonical"]] = (str(desc) if desc else None, cols)  # all of it: none clears
