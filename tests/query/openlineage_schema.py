"""A minimal, faithful JSON Schema (2020-12) of an OpenLineage RunEvent (spec 2-0-2) and the
ColumnLineageDatasetFacet (1-2-0), written from the published specification so the tests need
no network. It keeps every structural rule of those versions that an emitter can break:
required keys, types, the eventType enum, the facet base keys `_producer` / `_schemaURL`, and
the shape of `fields.<col>.inputFields[]` (namespace, name, field; transformations with a type).
"""

from __future__ import annotations

from typing import Any

BASE_FACET: dict[str, Any] = {
    "type": "object",
    "properties": {
        "_producer": {"type": "string", "format": "uri"},
        "_schemaURL": {"type": "string", "format": "uri"},
    },
    "required": ["_producer", "_schemaURL"],
    "additionalProperties": True,
}

_FACET_MAP = {"type": "object", "additionalProperties": {"$ref": "#/$defs/BaseFacet"}}

COLUMN_LINEAGE_FACET: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/$defs/BaseFacet"},
        {
            "type": "object",
            "properties": {
                "_deleted": {"type": "boolean"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "inputFields": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "namespace": {"type": "string"},
                                        "name": {"type": "string"},
                                        "field": {"type": "string"},
                                        "transformations": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "type": {"type": "string"},
                                                    "subtype": {"type": "string"},
                                                    "description": {"type": "string"},
                                                    "masking": {"type": "boolean"},
                                                },
                                                "required": ["type"],
                                                "additionalProperties": False,
                                            },
                                        },
                                    },
                                    "required": ["namespace", "name", "field"],
                                    "additionalProperties": False,
                                },
                            },
                            "transformationDescription": {"type": "string"},
                            "transformationType": {"type": "string"},
                        },
                        "required": ["inputFields"],
                        "additionalProperties": False,
                    },
                },
                "dataset": {"type": "array"},
            },
            "required": ["fields"],
        },
    ]
}

RUN_EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$ref": "#/$defs/RunEvent",
    "$defs": {
        "BaseFacet": BASE_FACET,
        "ColumnLineageDatasetFacet": COLUMN_LINEAGE_FACET,
        "BaseEvent": {
            "type": "object",
            "properties": {
                "eventTime": {"type": "string", "format": "date-time"},
                "producer": {"type": "string", "format": "uri"},
                "schemaURL": {"type": "string", "format": "uri"},
            },
            "required": ["eventTime", "producer", "schemaURL"],
        },
        "Run": {
            "type": "object",
            "properties": {"runId": {"type": "string", "format": "uuid"}, "facets": _FACET_MAP},
            "required": ["runId"],
        },
        "Job": {
            "type": "object",
            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": _FACET_MAP},
            "required": ["namespace", "name"],
        },
        "Dataset": {
            "type": "object",
            "properties": {
                "namespace": {"type": "string"},
                "name": {"type": "string"},
                "facets": {
                    "type": "object",
                    "properties": {"columnLineage": {"$ref": "#/$defs/ColumnLineageDatasetFacet"}},
                    "additionalProperties": {"$ref": "#/$defs/BaseFacet"},
                },
            },
            "required": ["namespace", "name"],
        },
        "InputDataset": {
            "allOf": [
                {"$ref": "#/$defs/Dataset"},
                {"type": "object", "properties": {"inputFacets": _FACET_MAP}},
            ]
        },
        "OutputDataset": {
            "allOf": [
                {"$ref": "#/$defs/Dataset"},
                {"type": "object", "properties": {"outputFacets": _FACET_MAP}},
            ]
        },
        "RunEvent": {
            "allOf": [
                {"$ref": "#/$defs/BaseEvent"},
                {
                    "type": "object",
                    "properties": {
                        "eventType": {
                            "type": "string",
                            "enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"],
                        },
                        "run": {"$ref": "#/$defs/Run"},
                        "job": {"$ref": "#/$defs/Job"},
                        "inputs": {"type": "array", "items": {"$ref": "#/$defs/InputDataset"}},
                        "outputs": {"type": "array", "items": {"$ref": "#/$defs/OutputDataset"}},
                    },
                    "required": ["run", "job"],
                },
            ]
        },
    },
}


def validate_run_event(event: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `event` is not a valid RunEvent (formats checked)."""
    import uuid
    from datetime import datetime
    from urllib.parse import urlparse

    import jsonschema

    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _dt(value: object) -> bool:
        return not isinstance(value, str) or (
            "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        )

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlparse(value).scheme)

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(uuid.UUID(value))

    jsonschema.Draft202012Validator(RUN_EVENT_SCHEMA, format_checker=checker).validate(event)
