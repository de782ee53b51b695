"""OpenLineage RunEvent validation with the official spec schemas (2-0-2 and the facet schemas,
from `shared/openlineage-spec`; see `openlineage_native.spec`)."""

from __future__ import annotations

from typing import Any

import jsonschema

from openlineage_native.spec import official


def validate_run_event(event: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` listing every violation; return None when valid."""
    errors = official().run_event(event)
    if errors:
        raise jsonschema.ValidationError("; ".join(errors))
