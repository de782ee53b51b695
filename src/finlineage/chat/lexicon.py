"""Abbreviations and synonyms, learned from a project's own names plus a small generic table.

Warehouse names abbreviate words (`amt` for amount, `ccy` for currency, `acct` for account,
`bal` for balance) and people ask in full words. `Lexicon.learn(names)` collects the name
tokens of a project (object, column and schema names split at `_` and digits); `forms(word)`
returns the tokens of that project a question word may stand for:

* the word itself and its singular/plural;
* tokens that abbreviate the word: same first letter, letters in order, and either a prefix of
  3+ letters (`bal` ← balance) or ending on the word's last letter (`amt` ← amount, `ccy` ←
  currency, `acct` ← account, `pct` ← percent);
* the reverse (a question abbreviates a name: `amt` → `amount`);
* the generic table below (finance and SQL shorthand that the letter rule misses, and
  conventional warehouse layer names). It holds no name of any particular warehouse.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["GENERIC", "LAYERS", "Lexicon", "abbreviates"]

GENERIC: dict[str, tuple[str, ...]] = {
    "amount": ("amt",),
    "currency": ("ccy", "cur", "curr"),
    "counterparty": ("cpty", "ctpy", "cp"),
    "counterparties": ("cpty", "ctpy"),
    "rate": ("rt",),
    "date": ("dt",),
    "name": ("nm",),
    "code": ("cd",),
    "number": ("num", "no", "nbr"),
    "quantity": ("qty",),
    "price": ("px",),
    "transaction": ("txn", "trx", "tx"),
    "transactions": ("txn", "trx"),
    "identifier": ("id",),
    "description": ("desc", "descr"),
    "percent": ("pct",),
    "percentage": ("pct",),
    "dollar": ("usd",),
    "dollars": ("usd",),
    "p&l": ("pnl",),
    "profit": ("pnl",),
    "utilization": ("utilisation", "util"),
    "utilisation": ("utilization", "util"),
    "average": ("avg",),
    "total": ("tot",),
    "maximum": ("max",),
    "minimum": ("min",),
}
"""Generic finance/SQL shorthand (word → tokens it may appear as in names)."""

LAYERS: dict[str, tuple[str, ...]] = {
    "raw": ("feed", "feeds", "landing", "source", "sources", "src", "ingest"),
    "lnd": ("landing",),
    "landing": ("feed", "feeds", "raw"),
    "src": ("source", "sources", "feed"),
    "stg": ("staging", "staged", "stage"),
    "staging": ("stage", "staged"),
    "ref": ("reference", "master", "lookup"),
    "mart": ("datamart", "mart"),
    "rpt": ("report", "reports", "reporting"),
    "reporting": ("report", "reports"),
    "dwh": ("warehouse",),
    "dw": ("warehouse",),
    "bi": ("dashboard", "dashboards", "report", "reports"),
}
"""Conventional warehouse layer names (schema) → words people use for them."""

REPORT_MARKERS: tuple[str, ...] = (
    "rpt",
    "report",
    "reports",
    "reporting",
    "mart",
    "marts",
    "dash",
    "dashboard",
    "bi",
    "extract",
    "kpi",
    "out",
    "output",
    "pub",
    "presentation",
)
"""Name tokens that mark an object as a report (schema or name), by convention."""

_SPLIT = re.compile(r"[^a-z]+")
_VOWELS = frozenset("aeiou")


def tokens_of(name: str) -> list[str]:
    return [t for t in _SPLIT.split(name.lower()) if t]


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def abbreviates(token: str, word: str) -> bool:
    """Whether `token` is a plausible abbreviation of `word` (letter rule or generic table)."""
    if token in GENERIC.get(word, ()):
        return True
    if len(token) < 2 or len(token) >= len(word) or token[0] != word[0]:
        return False
    if not _subsequence(token, word):
        return False
    if len(token) >= 3 and word.startswith(token):
        return True
    # a consonant skeleton ending on the word's last consonant: amt, ccy, acct, pct, qty
    tail = word.rstrip("aeiou") or word
    return len(token) >= 3 and not _VOWELS.intersection(token[1:]) and token[-1] == tail[-1]


def _abbreviation_of(short: str, name_token: str) -> bool:
    """A question word that is itself an abbreviation of a name token (`amt` → amount)."""
    if len(short) < 3 or len(short) >= len(name_token):
        return False
    if name_token.startswith(short) and len(short) <= 4:
        return True
    return not _VOWELS.intersection(short[1:]) and abbreviates(short, name_token)


def _singular(word: str) -> list[str]:
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    elif word.endswith("es") and len(word) > 4:
        out.extend([word[:-2], word[:-1]])
    elif word.endswith("s") and len(word) > 3:
        out.append(word[:-1])
    return out


@dataclass
class Lexicon:
    tokens: frozenset[str] = frozenset()
    by_initial: dict[str, list[str]] = field(default_factory=dict)
    _cache: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def learn(cls, names: Iterable[str]) -> Lexicon:
        toks: set[str] = set()
        for n in names:
            toks.update(tokens_of(n))
        by_initial: dict[str, list[str]] = defaultdict(list)
        for t in sorted(toks):
            by_initial[t[0]].append(t)
        return cls(frozenset(toks), dict(by_initial))

    def forms(self, word: str) -> frozenset[str]:
        """Tokens of the project's names that `word` may stand for (itself included)."""
        w = word.lower()
        hit = self._cache.get(w)
        if hit is not None:
            return hit
        out: set[str] = set()
        for s in _singular(w):
            out.add(s)
            out.update(GENERIC.get(s, ()))
            if len(s) < 2 or not s.isalpha():
                continue
            for t in self.by_initial.get(s[0], ()):
                if t != s and (abbreviates(t, s) or _abbreviation_of(s, t)):
                    out.add(t)
        res = frozenset(out)
        if len(self._cache) < 20_000:
            self._cache[w] = res
        return res

    def layer_words(self, schema: str) -> frozenset[str]:
        """Words that point at a schema: its layer synonyms and the words it abbreviates."""
        s = schema.lower()
        out = set(LAYERS.get(s, ()))
        out.add(s)
        return frozenset(out)


def is_report_name(schema: str | None, name: str) -> bool:
    """A report by naming convention: a schema or name token such as rpt, report, mart, dash."""
    toks = set(tokens_of(schema or "")) | set(tokens_of(name))
    return bool(toks & set(REPORT_MARKERS))
