"""Which dialect a file is parsed in: explicit > `finlineage.toml` mapping > auto-detection.

A `finlineage.toml` at the root of an uploaded tree, archive, directory or git repository maps
file globs to dialects::

    [dialects]
    "tsql/**/*.sql" = "tsql"
    "snowflake/**" = "snowflake"

Globs are relative to the folder holding the toml; `**` matches any number of folders
(including none), `*` and `?` never cross a `/`. The first matching glob in file order wins; a
file is governed by the nearest `finlineage.toml` above it in its tree.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

from finlineage.lineage.names import canonical_dialect


def check_dialect(name: str | None) -> str:
    """Canonical dialect name ("auto" kept), or ValueError for an unknown one."""
    value = canonical_dialect(name or "auto")
    return value


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    pat = pattern.strip().lstrip("./").replace("\\", "/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = pat.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
                i += 1
            else:
                body = pat[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE)


@dataclass(slots=True)
class DialectMap:
    base: str
    """Folder (logical path, '' for the root) the globs are relative to."""
    rules: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def match(self, path: str) -> str | None:
        rel = path[len(self.base) + 1 :] if self.base else path
        for pattern, dialect in self.rules:
            if glob_regex(pattern).match(rel):
                return dialect
        return None


def parse_config(base: str, text: str, origin: str) -> DialectMap:
    out = DialectMap(base)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.warnings.append(f"{origin}: invalid TOML ({exc}); its dialect mapping is ignored")
        return out
    table = data.get("dialects", {})
    if not isinstance(table, dict):
        out.warnings.append(f"{origin}: [dialects] must be a table of glob = dialect")
        return out
    for pattern, dialect in table.items():
        if not isinstance(dialect, str):
            out.warnings.append(f"{origin}: dialect for {pattern!r} must be a string")
            continue
        try:
            out.rules.append((str(pattern), canonical_dialect(dialect)))
        except ValueError as exc:
            out.warnings.append(f"{origin}: {exc} (glob {pattern!r} ignored)")
    return out


class DialectResolver:
    """Resolves each file's dialect from the toml files of its group."""

    def __init__(self) -> None:
        self._maps: dict[str, list[DialectMap]] = {}
        self.warnings: list[str] = []

    def add_config(self, group: str, path: str, text: str) -> None:
        base = path.rsplit("/", 1)[0] if "/" in path else ""
        m = parse_config(base, text, path)
        self.warnings.extend(m.warnings)
        maps = self._maps.setdefault(group, [])
        maps.append(m)
        maps.sort(key=lambda x: -len(x.base))  # nearest (deepest) first

    def mapped(self, group: str, path: str) -> str | None:
        for m in self._maps.get(group, ()):
            if m.base and not path.startswith(m.base + "/"):
                continue
            hit = m.match(path)
            if hit is not None:
                return hit
            # the nearest toml governs the file even if none of its globs match
            return None
        return None

    def resolve(self, group: str, path: str, explicit: str | None) -> str:
        """Explicit (non-auto) wins, then the mapping, then "auto" (detected by the engine)."""
        if explicit and explicit != "auto":
            return explicit
        mapped = self.mapped(group, path)
        return mapped if mapped is not None else "auto"
