"""What each statement of an explained column's chain computes: one normalised SQL expression
per step of `explain_column`.

The store keeps a column's composed formula on its edge (the engine's rollup, C3), not the
formulas of the statements before the last one (a `SELECT … INTO #t`, an earlier `UPDATE` of the
same column). A step's expression is therefore read from the step's own original text: the
engine analyses that statement alone, so its formula for each column is over the columns the
statement itself reads (`#t.value_base`, the target's prior value for `SET x += y`), qualified
and normalised. The steps of a chain are read back from the last: a step keeps the columns it
writes that a later step reads (or the explained column, for the last step).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from finlineage.lineage import extract

MAX_STEP_CHARS = 200_000
_STEP_TIMEOUT_S = 5.0

StepFormula = tuple[str, str, tuple[str, ...]]
"""(target column, formula, the columns it reads) of one direct write of a statement."""


@lru_cache(maxsize=1024)
def statement_formulas(text: str, dialect: str) -> tuple[StepFormula, ...]:
    """The direct column writes of the statements of ``text`` analysed on their own, each with
    the statement's formula (cached by text and dialect)."""
    if not text.strip() or len(text) > MAX_STEP_CHARS:
        return ()
    try:
        result = extract(text, dialect, statement_timeout=_STEP_TIMEOUT_S)
    except ValueError:  # a dialect name the engine does not know
        return ()
    out: dict[tuple[str, str], StepFormula] = {}
    for st in result.statements:
        for e in st.column_edges:
            formula = e.formula or (e.sources[0] if len(e.sources) == 1 and e.subtype == "IDENTITY" else "")
            if e.kind != "direct" or not formula:
                continue
            out.setdefault((e.target, formula), (e.target, formula, tuple(e.sources)))
    return tuple(out.values())


def _same(a: str, b: str) -> bool:
    """One column named with more or fewer qualifiers (`s.t.c` and `t.c`)."""
    a, b = a.lower(), b.lower()
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def _column_part(target: str, table: str | None) -> str:
    if table and target.lower().startswith(table.lower() + "."):
        return target[len(table) + 1 :]
    return target.rpartition(".")[2]


def chain_expressions(
    texts: Sequence[str | None],
    dialect: str | None,
    column: str,
    tables: Sequence[str | None],
) -> list[str | None]:
    """The expression of each step (``texts`` in data-flow order, the last one writes ``column``).

    The last step: its formula(s) for ``column``. An earlier step: `col = formula` for each column
    it writes (of its target ``tables[i]``) that a later step reads, comma-separated. Several
    writes of one column in one statement (MERGE branches) are joined with ` | `. None where the
    step's text is unknown or the statement writes nothing the chain reads."""
    d = (dialect or "").lower()
    if d in ("auto", "ansi"):
        d = ""
    wanted: list[str] = [column]
    out: list[str | None] = [None] * len(texts)
    last = len(texts) - 1
    for i in range(last, -1, -1):
        text = texts[i]
        if text is None or text.endswith("\n…"):  # unknown or cut evidence: not analysed
            continue
        every = statement_formulas(text, d)
        hits = [f for f in every if any(_same(f[0], w) for w in wanted)]
        if not hits and i != last:  # names the chain could not match: all it writes
            hits = list(every)
        if not hits:
            continue
        by_target: dict[str, list[str]] = {}
        for target, formula, sources in hits:
            by_target.setdefault(target, [])
            if formula not in by_target[target]:
                by_target[target].append(formula)
            wanted.extend(s for s in sources if s not in wanted)
        if i == last and len(by_target) == 1:
            out[i] = " | ".join(next(iter(by_target.values())))
        else:
            out[i] = ", ".join(
                f"{_column_part(t, tables[i])} = {' | '.join(fs)}" for t, fs in sorted(by_target.items())
            )
    return out
