"""The official OpenLineage schemas (event 2-0-2 and facets) as a validator, read from
`shared/openlineage-spec` beside the checkout (never copied into the project)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def spec_dir() -> Path:
    for candidate in (
        REPO_ROOT.parent / "shared" / "openlineage-spec",
        Path("/work/shared/openlineage-spec"),
    ):
        if (candidate / "OpenLineage.json").is_file():
            return candidate
    raise FileNotFoundError(
        "OpenLineage spec schemas not found beside the checkout (shared/openlineage-spec)"
    )


class SpecValidator:
    """Validates events against OpenLineage.json (2-0-2) and every facet against its own schema
    (looked up by the facet's `_schemaURL`), all from the official files."""

    def __init__(self, root: Path) -> None:
        paths = [root / "OpenLineage.json", *sorted((root / "facets").glob("*.json"))]
        docs = [json.loads(p.read_text()) for p in paths]
        self.by_id = {d["$id"]: d for d in docs}
        self.registry: Registry = Registry().with_resources(
            [(d["$id"], Resource.from_contents(d)) for d in docs]
        )

    def validator(self, url: str) -> Any:
        base, _, pointer = url.partition("#")
        schema = {"$ref": url} if pointer else self.by_id[base]
        return jsonschema.Draft202012Validator(
            schema, registry=self.registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def facets(self, facets: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        for name, facet in facets.items():
            url = facet.get("_schemaURL", "")
            if url.split("#")[0] not in self.by_id:
                errors.append(f"{name}: unknown schema {url!r}")
                continue
            errors += [f"{name}: {e.message}" for e in self.validator(url).iter_errors(facet)]
        return errors

    def run_event(self, event: dict[str, Any]) -> list[str]:
        """Every violation of the event schema and of each facet's schema (empty: valid)."""
        errors = [e.message for e in self.validator(RUN_EVENT).iter_errors(event)]
        if errors:
            return errors
        errors += self.facets(event["job"].get("facets", {}))
        errors += self.facets(event["run"].get("facets", {}))
        for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
            errors += self.facets(ds.get("facets", {}))
        return errors


@cache
def official() -> SpecValidator:
    return SpecValidator(spec_dir())
