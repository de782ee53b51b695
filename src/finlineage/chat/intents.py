"""Intent recognition for the common lineage questions (keyword and regex rules, no model).

Rules are about how people ask, never about particular objects: the entities come from
`linking`. `classify` returns the intent names in priority order; the engine takes the first
one it can answer with the linked entities.
"""

from __future__ import annotations

import re

__all__ = ["INTENTS", "SUBJECTLESS", "classify"]

INTENTS = (
    "health",
    "reports",
    "path",
    "proc_io",
    "calculation",
    "column_lineage",
    "impact",
    "upstream",
    "files",
    "schema",
    "describe",
)

SUBJECTLESS = frozenset({"health"})
"""Intents answered without a subject (never inherit one from the previous turn)."""

_P = {
    "health": [
        r"\b(fail|failed|failing|failures?|errors?|broken|invalid|unparse\w*|could ?n[o']t|did ?n[o']t)\b.*"
        r"\b(pars\w*|ingest\w*|load\w*|analy[sz]\w*|files?|process\w*)\b",
        r"\b(pars\w*|ingest\w*|files?)\b.*\b(fail\w*|errors?|broke\w*|problems?|issues?)\b",
        r"\bdiagnostics?\b",
        r"\b(ingestion|parse|parsing) (health|status|problems?|issues?|errors?)\b",
        r"\bsyntax errors?\b",
    ],
    "reports": [
        r"\b(which|what|any|list)\s+(\w+\s+){0,2}(reports?|dashboards?|marts?|extracts?)\b",
        r"\b(reports?|dashboards?)\s+(that|which)\s+(use|uses|read|reads|depend|depends|consume|show|are built)",
        r"\b(used|consumed|read|shown)\s+(in|by)\s+(which|what|any)\s+(reports?|dashboards?)",
    ],
    "path": [
        r"\bpath\b",
        r"\broute\b",
        r"\bhow does .+ (get|flow|make it|travel|reach|end up)\b.*\b(to|into|in)\b",
        r"\b(does|do|is) .+ (feed|flow|reach|end up|propagate|contribute)\w*\b.*\b(in|into|to)\b",
        r"\bbetween\b .+ \band\b",
        r"\bconnect(ed|s|ion)?\b",
        r"\bfrom\b .+ \bto\b .+",
        r"\bchain\b.*\bfrom\b",
        r"\bthrough to\b",
        r"\btrace\b.+\b(to|into)\b",
        r"\breach(es)?\b",
    ],
    "proc_io": [
        r"\bwhat (does|do) .+ do\b",
        r"\b(delete|deletes|deleted|deleting|truncate|truncates|truncated|truncating|purge|purges|clears?)\b",
        r"\b(read|reads|write|writes|written|touch|touches|modif(y|ies)|updates?|inserts?|loads?|"
        r"populates?|inputs?|outputs?|targets?|sources?)\b",
    ],
    "calculation": [
        r"\bhow (is|are|was|were|do|does) .*\b(calculat|comput|deriv|built|formed|determin|work)\w*",
        r"\b(calculat|comput)\w*\b",
        r"\bformula\b",
        r"\bexpression\b",
        r"\blogic (behind|for|of)\b",
        r"\btransformation\b",
        r"\bhow .* (arrived|obtained|produced|generated)\b",
    ],
    "column_lineage": [
        r"\bcolumn[- ]level\b",
        r"\bcolumn lineage\b",
        r"\bwhich columns?\b",
        r"\bwhat columns?\b.*\b(feed|source|come|derive|use)",
        r"\b(source|raw|input|upstream) columns?\b",
        r"\bfield[- ]level\b",
        r"\bends? up (as|in)\b",
        r"\bbecomes?\b",
        r"\bwhich inputs\b",
        r"\bwhat goes into\b",
    ],
    "impact": [
        r"\bbreak",
        r"\bimpact",
        r"\baffect",
        r"\bwho (uses|consumes|reads|depends)\b",
        r"\bwhat (uses|consumes|reads|depends)\b",
        r"\b(uses|consumers?|consume|dependents?|depends on|depend on|rel(y|ies) on)\b",
        r"\bdownstream\b",
        r"\bif .* (change|changes|changed|is dropped|dropped|renamed|removed|deleted|altered)\b",
        r"\b(drop|rename|remove|delete|alter|deprecate|retire)\b",
        r"\bblast radius\b",
        r"\bwhere (is|are) .* used\b",
        r"\bwhat (feeds|flows|goes) (from|out of)\b",
        r"\b(are|is|get|gets) hit\b",
        r"\b(arrives?|is|runs?) late\b",
        r"\b(delayed|fails?|failed|missing|breaks? down)\b",
    ],
    "upstream": [
        r"\bcome[s]? from\b",
        r"\bcoming from\b",
        r"\bsource[sd]?\b",
        r"\bupstream\b",
        r"\borigin",
        r"\bwhat feeds\b",
        r"\bfeeds?\b",
        r"\bfed (by|from)\b",
        r"\blineage\b",
        r"\bpopulated (by|from)\b",
        r"\bloaded (by|from)\b",
        r"\bderived from\b",
        r"\bbuilt from\b",
        r"\bprovenance\b",
        r"\bwhere .* (get|gets|got) .* from\b",
        r"\btrace\b",
        r"\binputs? (to|of|for)\b",
        r"\b(drives?|driven by)\b",
        r"\bwho (calls|invokes|executes|runs|triggers)\b",
    ],
    "files": [
        r"\bfiles?\b",
        r"\bwhere (is|are) .* defined\b",
        r"\bdefined in\b",
        r"\bwhich script",
        r"\b\.sql\b",
        r"\bsource code\b",
        r"\bddl\b",
        r"\bwhere('s| is| are)\b.*\b(logic|code|implemented|happens?|done)\b",
    ],
    "schema": [
        r"\bschema\b",
        r"\bwhat('s| is) in\b",
        r"\b(list|show|which|what)\b.*\b(tables|views|objects|procedures|functions)\b",
    ],
    "describe": [
        r"\bwhat is\b",
        r"\bwhat's\b",
        r"\bdescribe\b",
        r"\btell me about\b",
        r"\bexplain\b",
        r"\bcolumns? (of|in)\b",
        r"\bdefinition\b",
        r"\bshow\b",
    ],
}

_NAMES = re.compile(r"`[^`]*`|\b[\w$#@]+(?:\.[\w$#@]+)+\b|\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
_COMPILED = {k: [re.compile(p) for p in v] for k, v in _P.items()}


def classify(question: str) -> list[str]:
    """Intents whose cues appear in `question`, strongest first."""
    # identifiers (qualified or snake_case names) are subjects, not cues: `compute_outflows`
    # must not read as "compute"
    q = " ".join(question.lower().split())
    q = _NAMES.sub(" <name> ", q)
    hits: list[str] = []
    for name in INTENTS:
        if any(p.search(q) for p in _COMPILED[name]):
            hits.append(name)
    # "what feeds X at column level" is column lineage, not upstream; "how is X calculated"
    # beats "derived from" cues; both are already first by INTENTS order.
    # keep impact first only for clear impact cues
    if (
        "upstream" in hits
        and "impact" in hits
        and re.search(r"\b(come[s]? from|upstream|origin|source[sd]?\b|fed by|derived from)", q)
        and not re.search(r"\b(break|impact|affect|downstream|who uses|what uses|if .* chang)", q)
    ):
        hits.remove("impact")
    return hits
