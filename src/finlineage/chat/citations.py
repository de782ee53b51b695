"""Citation checking: the model must cite evidence ids in square brackets (`[node:12]`,
`[edge:c7]`, `[chunk:3]`, several as `[node:1, edge:t2]`). Ids not in the evidence are removed
from the text and reported as a warning. `CitationFilter` does the same on a token stream,
holding back only an unfinished `[...]`."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["CitationFilter", "check_citations"]

_ID = r"(?:node|edge|chunk):[a-z]?\d+"
_BRACKET = re.compile(r"\[\s*(" + _ID + r"(?:\s*[,;]\s*" + _ID + r")*)\s*\]")
_ID_RE = re.compile(_ID)


def _rewrite(match: re.Match[str], known: set[str], cited: list[str], unknown: list[str]) -> str:
    ids = _ID_RE.findall(match.group(1))
    keep = [i for i in ids if i in known]
    for i in ids:
        if i in known:
            if i not in cited:
                cited.append(i)
        elif i not in unknown:
            unknown.append(i)
    return f"[{', '.join(keep)}]" if keep else ""


def check_citations(text: str, known: Iterable[str]) -> tuple[str, list[str], list[str]]:
    """(text without unknown citations, cited known ids in order, unknown ids)."""
    known_set = set(known)
    cited: list[str] = []
    unknown: list[str] = []
    out = _BRACKET.sub(lambda m: _rewrite(m, known_set, cited, unknown), text)
    return out, cited, unknown


class CitationFilter:
    """Streaming variant: `feed(delta)` returns what can be shown now; `flush()` the rest."""

    MAX_HOLD = 80

    def __init__(self, known: Iterable[str]) -> None:
        self.known = set(known)
        self.cited: list[str] = []
        self.unknown: list[str] = []
        self._buf = ""

    def feed(self, delta: str) -> str:
        self._buf += delta
        out: list[str] = []
        while self._buf:
            start = self._buf.find("[")
            if start < 0:
                out.append(self._buf)
                self._buf = ""
                break
            out.append(self._buf[:start])
            self._buf = self._buf[start:]
            end = self._buf.find("]")
            if end < 0:
                if len(self._buf) > self.MAX_HOLD:
                    out.append(self._buf[0])
                    self._buf = self._buf[1:]
                    continue
                break
            segment = self._buf[: end + 1]
            self._buf = self._buf[end + 1 :]
            inner = segment.rfind("[")
            if inner > 0:
                out.append(segment[:inner])
                segment = segment[inner:]
            m = _BRACKET.fullmatch(segment)
            if m is None:
                out.append(segment)
            else:
                out.append(_rewrite(m, self.known, self.cited, self.unknown))
        return "".join(out)

    def flush(self) -> str:
        rest, self._buf = self._buf, ""
        return rest
