"""SQL for dbt models a manifest has no compiled code for (a manifest from ``dbt parse``).

Only what needs no Jinja engine is substituted, so the result is what dbt would compile and
nothing is guessed: a snapshot's ``{% snapshot name %}`` block (its select), an
``{% if is_incremental() %}…{% endif %}`` block without other Jinja inside (dropped: what dbt
compiles for a first or full-refresh build, the model's lineage), ``{{ ref('m') }}`` / ``{{ ref('pkg', 'm') }}`` / ``{{ ref('m', v=2) }}``
(the model's, seed's or snapshot's relation; a versioned model's latest version unless ``v``
says which; an ephemeral model becomes a ``__dbt__cte__<name>`` CTE, injected the way dbt does), ``{{ source('s', 't') }}``, ``{{ this }}``, ``{{ config(...) }}`` (nothing) and Jinja
comments. A model with any other Jinja (macros, variables, loops, ``is_incremental()`` with an
``else``) is not rendered: it needs ``dbt compile``. Substitution is one linear pass of a regular expression over
the raw code (no template evaluation, so an upload cannot make it run code or loop).
"""

from __future__ import annotations

import re
from typing import Any

_CALL = re.compile(r"\{\{-?\s*(ref|source|config|this)\b\s*(\((?:[^(){}]|\([^(){}]*\))*\))?\s*-?\}\}", re.S)
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_SNAPSHOT = re.compile(r"\{%-?\s*(?:snapshot\s+\w+|endsnapshot)\s*-?%\}")
_INCREMENTAL = re.compile(
    r"\{%-?\s*if\s+is_incremental\(\)\s*-?%\}((?:(?!\{%).)*?)\{%-?\s*endif\s*-?%\}", re.S
)
_ARG = re.compile(r"""^\s*(?:(\w+)\s*=\s*)?(?:'([^'\\]*)'|"([^"\\]*)"|([\w.]+))\s*$""")
MAX_DEPTH = 20


def _blank(m: re.Match[str]) -> str:
    """What is dropped keeps its line breaks (the rendered lines keep their numbers)."""
    return "\n" * m.group(0).count("\n")


class _Unrenderable(Exception):
    pass


def _args(text: str | None) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    kw: dict[str, str] = {}
    inner = (text or "()")[1:-1].strip()
    if not inner:
        return pos, kw
    for part in inner.split(","):
        m = _ARG.match(part)
        if m is None:
            raise _Unrenderable(part)
        value = m.group(2) if m.group(2) is not None else m.group(3) if m.group(3) is not None else m.group(4)
        if m.group(1):
            kw[m.group(1)] = value
        else:
            pos.append(value)
    return pos, kw


class Renderer:
    """Renders models of one manifest (relations looked up by name)."""

    def __init__(
        self,
        manifest: dict[str, Any],
        relation: Any,
        materialized: Any,
        raw_code: Any,
    ) -> None:
        self.relation, self.materialized, self.raw_code = relation, materialized, raw_code
        self.by_name: dict[tuple[str | None, str], dict[str, Any]] = {}
        self.versions: dict[tuple[str | None, str, str], dict[str, Any]] = {}
        for _uid, node in sorted((manifest.get("nodes") or {}).items()):
            if isinstance(node, dict) and node.get("resource_type") in ("model", "seed", "snapshot"):
                name = str(node.get("name") or "")
                pkg = str(node.get("package_name") or "")
                version, latest = node.get("version"), node.get("latest_version")
                if version is not None:  # a versioned model: ref() without v= means the latest
                    self.versions[(None, name, str(version))] = node
                    self.versions[(pkg, name, str(version))] = node
                    if latest is not None and str(latest) != str(version):
                        continue
                self.by_name[(None, name)] = node
                self.by_name[(pkg, name)] = node
        self.sources: dict[tuple[str, str], dict[str, Any]] = {}
        for node in (manifest.get("sources") or {}).values():
            if isinstance(node, dict):
                self.sources[(str(node.get("source_name") or ""), str(node.get("name") or ""))] = node

    def render(self, node: dict[str, Any]) -> str | None:
        """The model's SQL with its ephemeral dependencies as CTEs, or None (needs dbt compile)."""
        ctes: dict[str, str] = {}
        try:
            body = self._render(node, ctes, 0)
        except _Unrenderable:
            return None
        if not ctes:
            return body
        defs = ",\n".join(f"{name} as (\n{sql.strip()}\n)" for name, sql in ctes.items())
        head = body.lstrip()
        if head[:4].lower() == "with" and (len(head) == 4 or not (head[4].isalnum() or head[4] == "_")):
            return f"with {defs},\n{head[4:].lstrip()}"
        return f"with {defs}\n{body}"

    def _render(self, node: dict[str, Any], ctes: dict[str, str], depth: int) -> str:
        raw = self.raw_code(node)
        if raw is None or depth > MAX_DEPTH:
            raise _Unrenderable("no raw code")

        def sub(m: re.Match[str]) -> str:
            fn = m.group(1)
            if fn == "config":
                return ""
            if fn == "this":
                if m.group(2):
                    raise _Unrenderable("this(...)")
                return str(self.relation(node) or "")
            pos, kw = _args(m.group(2))
            if fn == "source":
                if len(pos) != 2 or (target := self.sources.get((pos[0], pos[1]))) is None:
                    raise _Unrenderable("source")
                return str(self.relation(target) or "")
            if len(pos) not in (1, 2):
                raise _Unrenderable("ref")
            key = (pos[0] if len(pos) == 2 else None, pos[-1])
            version = kw.get("v", kw.get("version"))
            target = self.by_name.get(key) if version is None else self.versions.get((*key, version))
            if target is None:
                raise _Unrenderable("ref")
            if target.get("resource_type") == "model" and self.materialized(target, None) == "ephemeral":
                name = f"__dbt__cte__{target.get('name')}"
                if name not in ctes:
                    inner: dict[str, str] = {}
                    sql = self._render(target, inner, depth + 1)
                    for k, v in inner.items():
                        ctes.setdefault(k, v)
                    ctes[name] = sql
                return name
            rel = self.relation(target)
            if rel is None:
                raise _Unrenderable("relation")
            return str(rel)

        text = _INCREMENTAL.sub(_blank, _SNAPSHOT.sub("", _COMMENT.sub(_blank, raw)))
        out = _CALL.sub(sub, text)
        if "{{" in out or "{%" in out or "{#" in out:
            raise _Unrenderable("other Jinja")
        return out
