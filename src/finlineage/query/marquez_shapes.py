"""Marquez response shapes (what the Marquez web UI reads): Dataset, Job, Run, namespace,
column-lineage input fields. Pure functions over values the read modules load; no queries.

Marquez's run states differ from OpenLineage's event types: START/RUNNING → RUNNING,
COMPLETE → COMPLETED, FAIL → FAILED, ABORT → ABORTED; a run that only sent OTHER events is NEW.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

RUN_STATES: dict[str, str] = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}
"""OpenLineage run state → Marquez RunState (anything else: NEW)."""
MARQUEZ_RUN_STATES = ("NEW", "RUNNING", "COMPLETED", "ABORTED", "FAILED")


def openlineage_states(marquez_states: Iterable[str]) -> set[str]:
    """The OpenLineage states of runs in some Marquez states (NEW: runs that sent only OTHER)."""
    wanted = set(marquez_states)
    return {ol for ol, mq in RUN_STATES.items() if mq in wanted} | ({"OTHER"} if "NEW" in wanted else set())


def ts(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with a `Z` (stored datetimes are UTC, naive on SQLite)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def instant(value: Any) -> Any:
    """A facet's ISO-8601 time as Marquez serves instants (UTC, ``Z``); anything else as sent."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return ts(parsed) if parsed.tzinfo is not None else value


def content_version(*parts: Any) -> str:
    """A deterministic version id (UUID) of some content: equal content, equal version."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"finlineage:{text}"))


def dataset_id(namespace: str, name: str) -> dict[str, str]:
    return {"namespace": namespace, "name": name}


def node_id(kind: str, namespace: str, name: str) -> str:
    return f"{kind}:{namespace}:{name}"


def field_out(name: str, dtype: str | None, description: str | None = None) -> dict[str, Any]:
    return {"name": name, "type": dtype, "tags": [], "description": description}


def namespace_out(name: str, created: datetime | None, updated: datetime | None) -> dict[str, Any]:
    return {
        "name": name,
        "createdAt": ts(created),
        "updatedAt": ts(updated or created),
        "ownerName": "finlineage",
        "description": None,
        "isHidden": False,
    }


def dataset_out(
    namespace: str,
    name: str,
    *,
    fields: list[dict[str, Any]],
    created: datetime | None,
    updated: datetime | None,
    facets: Mapping[str, Any] | None = None,
    column_lineage: list[dict[str, Any]] | None = None,
    last_modified: datetime | None = None,
    description: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """A Marquez Dataset (DB_TABLE). `currentVersion`: ``version`` (its newest version, see
    ``query.marquez_versions``), else the version id of its current content (name, fields,
    facets), which changes exactly when they change."""
    given = dict(facets or {})
    out: dict[str, Any] = {
        "id": dataset_id(namespace, name),
        "type": "DB_TABLE",
        "name": name,
        "physicalName": name,
        "createdAt": ts(created),
        "updatedAt": ts(updated or created),
        "namespace": namespace,
        "sourceName": source_name(namespace, given),
        "fields": fields,
        "tags": [],
        "lastModifiedAt": ts(last_modified),
        "lastLifecycleState": lifecycle_state(given),
        "description": description or documented(given),
        "facets": given,
        # Marquez soft-deletes a dataset its producer reported dropped (still served, flagged)
        "deleted": lifecycle_state(given) == "DROP",
    }
    out["currentVersion"] = version or content_version(namespace, name, fields, out["facets"])
    if column_lineage is not None:
        out["columnLineage"] = column_lineage
    return out


def _facet_text(facets: Mapping[str, Any], facet: str, key: str) -> str | None:
    body = facets.get(facet)
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


def source_name(namespace: str, facets: Mapping[str, Any]) -> str:
    """Marquez's ``sourceName``: the ``dataSource`` facet's name, else the namespace."""
    return _facet_text(facets, "dataSource", "name") or namespace


def lifecycle_state(facets: Mapping[str, Any]) -> str | None:
    """The ``lifecycleStateChange`` facet's state (CREATE, DROP, OVERWRITE, RENAME, ...)."""
    return _facet_text(facets, "lifecycleStateChange", "lifecycleStateChange")


def documented(facets: Mapping[str, Any]) -> str | None:
    """The ``documentation`` facet's description."""
    return _facet_text(facets, "documentation", "description")


def sent_fields(facets: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The fields of a ``schema`` facet as a producer sent it (None without one): what Marquez
    serves as a dataset's current fields."""
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, dict) else None
    if not isinstance(fields, list):
        return None
    return [
        field_out(f["name"], f.get("type"), f.get("description") or None)
        for f in fields
        if isinstance(f, dict) and isinstance(f.get("name"), str)
    ]


def field_docs(facets: Mapping[str, Any]) -> dict[str, str]:
    """Field name → description, of a ``schema`` facet as a producer sent it."""
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, dict) else None
    return {
        f["name"]: f["description"]
        for f in (fields if isinstance(fields, list) else [])
        if isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and isinstance(f.get("description"), str)
        and f["description"]
    }


@functools.lru_cache(maxsize=65536)
def run_version(namespace: str, name: str, run_id: str) -> str:
    """The id of the version of a dataset a run wrote (fixed once the run exists; names match
    case-insensitively, as datasets of events are matched to parsed ones)."""
    return content_version(namespace, name.lower(), "run", run_id)


def graph_version(namespace: str, name: str, version_from: int) -> str:
    """The id of a past range of graph versions a dataset was present in."""
    return content_version(namespace, name, "graph", version_from)


def io_version(namespace: str, name: str, version: str | None, facets: Mapping[str, Any]) -> dict[str, Any]:
    """A run's InputDatasetVersion / OutputDatasetVersion (facets: its input/output facets)."""
    return {
        "datasetVersionId": {"namespace": namespace, "name": name, "version": version},
        "facets": dict(facets),
    }


def dataset_version_out(
    namespace: str,
    name: str,
    version: str,
    *,
    created: datetime | None,
    fields: list[dict[str, Any]],
    facets: Mapping[str, Any],
    created_by_run: Mapping[str, Any] | None,
    extras: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Marquez DatasetVersion, plus finlineage ``extras``."""
    return {
        "id": {"namespace": namespace, "name": name, "version": version},
        "type": "DB_TABLE",
        "name": name,
        "physicalName": name,
        "createdAt": ts(created),
        "version": version,
        "namespace": namespace,
        "sourceName": source_name(namespace, facets),
        "fields": fields,
        "tags": [],
        "lifecycleState": lifecycle_state(facets),
        "description": documented(facets),
        "createdByRun": dict(created_by_run) if created_by_run is not None else None,
        "facets": dict(facets),
        **dict(extras or {}),
    }


def run_out(
    run: Any,
    namespace: str,
    name: str,
    job_version: str | None,
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Marquez Run from a stored OpenLineage run (``store.models.OLRun``), with the dataset
    versions it read and wrote (``io_version``) and, as ``openlineageState``, the OpenLineage
    state of its latest event (START, RUNNING, COMPLETE, FAIL, ABORT or OTHER)."""
    facets: dict[str, Any] = dict(run.facets or {})
    nominal = facets.get("nominalTime") or {}
    duration = None
    if run.started_at is not None and run.ended_at is not None:
        duration = int((run.ended_at - run.started_at).total_seconds() * 1000)
    return {
        "id": run.run_id,
        "createdAt": ts(run.created_at),
        "updatedAt": ts(run.updated_at),
        "nominalStartTime": instant(nominal.get("nominalStartTime")),
        "nominalEndTime": instant(nominal.get("nominalEndTime")),
        "state": RUN_STATES.get(str(run.state), "NEW"),
        "startedAt": ts(run.started_at),
        "endedAt": ts(run.ended_at),
        "durationMs": duration,
        "args": {},
        "jobVersion": {"namespace": namespace, "name": name, "version": job_version},
        "inputDatasetVersions": list(inputs or []),
        "outputDatasetVersions": list(outputs or []),
        "context": {},
        "facets": facets,
        "openlineageState": str(run.state),
    }


def job_out(
    namespace: str,
    name: str,
    *,
    inputs: Iterable[tuple[str, str]],
    outputs: Iterable[tuple[str, str]],
    facets: Mapping[str, Any] | None,
    created: datetime | None,
    updated: datetime | None,
    latest_runs: list[dict[str, Any]] | None = None,
    version: str | None = None,
    project_id: int | None = None,
) -> dict[str, Any]:
    """A Marquez Job (BATCH, or STREAM by its ``jobType`` facet). `location` is the
    sourceCodeLocation facet's URL; `currentVersion` ``version``, else the version id of its
    content (inputs, outputs, facets). Extra: ``project_id``, the finlineage project the job
    belongs to (when one does)."""
    job_facets = dict(facets or {})
    ins = sorted(set(inputs))
    outs = sorted(set(outputs))
    location = (job_facets.get("sourceCodeLocation") or {}).get("url")
    runs = latest_runs or []
    # the parent job a producer names in its runs' ParentRunFacet (Airflow: the DAG of a task)
    parent = _parent_job(runs[0]["facets"] if runs else {}) or _parent_job(job_facets)
    return {
        "id": dataset_id(namespace, name),
        "type": job_type(job_facets),
        "name": name,
        "simpleName": name.rsplit(".", 1)[-1],
        "parentJobName": parent,
        "parentJobUuid": None,
        "createdAt": ts(created),
        "updatedAt": ts(updated or created),
        "namespace": namespace,
        "inputs": [dataset_id(*k) for k in ins],
        "outputs": [dataset_id(*k) for k in outs],
        "location": location,
        "description": (job_facets.get("documentation") or {}).get("description"),
        "latestRun": runs[0] if runs else None,
        "latestRuns": runs,
        "facets": job_facets,
        "currentVersion": version or job_version(namespace, name, ins, outs, job_facets),
        "tags": [],
        "labels": [],
        "project_id": project_id,
    }


def job_type(facets: Mapping[str, Any]) -> str:
    """Marquez's job type: STREAM when the ``jobType`` facet says the processing is STREAMING."""
    jt = facets.get("jobType")
    processing = jt.get("processingType") if isinstance(jt, dict) else None
    return "STREAM" if isinstance(processing, str) and processing.upper() == "STREAMING" else "BATCH"


def _parent_job(facets: Mapping[str, Any]) -> str | None:
    parent = facets.get("parent")
    job = parent.get("job") if isinstance(parent, dict) else None
    name = job.get("name") if isinstance(job, dict) else None
    return name if isinstance(name, str) else None


def job_version(
    namespace: str, name: str, inputs: Any, outputs: Any, facets: Mapping[str, Any] | None
) -> str:
    return content_version(namespace, name, sorted(map(tuple, inputs)), sorted(map(tuple, outputs)), facets)


def received_version(job: Any) -> str:
    """The version of a received job (``store.models.OLJob``): of what its producer reported
    (inputs, outputs, facets)."""
    return job_version(job.namespace, job.name, job.inputs or [], job.outputs or [], job.facets)


def input_field(namespace: str, dataset: str, field: str, transformation: dict[str, Any]) -> dict[str, Any]:
    """One column-lineage input field, with the deprecated per-field description/type that
    Marquez reads and the 1-2-0 `transformations` list."""
    return {
        "namespace": namespace,
        "dataset": dataset,
        "datasetVersion": None,
        "field": field,
        "transformationDescription": transformation.get("description"),
        "transformationType": legacy_type(transformation),
        "transformations": [transformation],
    }


def legacy_type(transformation: dict[str, Any]) -> str:
    """The deprecated transformationType Marquez reads: IDENTITY, TRANSFORMATION or INDIRECT
    (the exact subtype stays in `transformations`)."""
    if transformation["type"] != "DIRECT":
        return "INDIRECT"
    return "IDENTITY" if transformation["subtype"] == "IDENTITY" else "TRANSFORMATION"


def summarise(inputs: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """The field-level (transformationType, transformationDescription) of a target's inputs:
    IDENTITY when every direct input is one, TRANSFORMATION when some direct input is not,
    INDIRECT when only indirect inputs exist."""
    if not inputs:
        return None, None
    direct = [f for f in inputs if f["transformations"][0]["type"] == "DIRECT"]
    kind = (
        "IDENTITY"
        if direct and all(f["transformationType"] == "IDENTITY" for f in direct)
        else ("TRANSFORMATION" if direct else "INDIRECT")
    )
    described = sorted({f["transformationDescription"] for f in direct if f["transformationDescription"]})
    return kind, "; ".join(described) or None
