"""#17 second stranger round, error paths of ``POST /api/v1/lineage`` on a real server: an event
too large is refused the same way plain or compressed (413 naming the setting that raises the
limit, nothing written), a compression bomb never expands, broken encodings are 400 with the
reason; a raised limit lets the openlineage-python client's gzip transport through."""

from __future__ import annotations

import gzip
import json
import uuid
import zlib
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from openlineage_native.acceptance_bank import Bank, emitter, start_bank
from openlineage_native.conftest import write_tree

PRODUCER = "https://example.invalid/fjord-stranger-errors"


def _event(blob_bytes: int, run_id: str | None = None) -> RunEvent:
    # a wide Spark plan facet: the kind of run facet that makes events big
    plan = {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}/plan.json", "plan": "x" * blob_bytes}
    return RunEvent(
        eventType=RunState.START,
        eventTime="2026-12-06T11:00:00Z",
        run=Run(runId=run_id or str(uuid.uuid4()), facets={"spark.logicalPlan": plan}),  # type: ignore[dict-item]
        job=Job(namespace="fjord-spark", name="wide_plan"),
        producer=PRODUCER,
    )


def _body(event: RunEvent) -> bytes:
    from openlineage.client.serde import Serde

    return Serde.to_json(event).encode()


def _post(bank: Bank, body: bytes, **headers: str) -> Any:
    with bank.http("editor") as h:
        return h.post(
            "/api/v1/lineage", content=body, headers={"Content-Type": "application/json", **headers}
        )


def _nothing_written(bank: Bank) -> None:
    with bank.http("viewer") as h:
        assert h.get("/api/v1/events/lineage").json()["totalCount"] == 0
        assert h.get("/api/v1/jobs").json()["totalCount"] == 0


def test_too_large_is_413_plain_or_compressed(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url, openlineage_max_event_mb=1.0)
    body = _body(_event(2 * 1024 * 1024))
    for r in (
        _post(bank, body),
        _post(bank, gzip.compress(body), **{"Content-Encoding": "gzip"}),
        _post(bank, zlib.compress(body), **{"Content-Encoding": "deflate"}),
        _post(bank, gzip.compress(body)),  # gzip without the header (sniffed)
    ):
        assert r.status_code == 413, (r.status_code, r.text[:200])
        err = r.json()
        assert err["error"] == "too_large" and "FINLINEAGE_OPENLINEAGE_MAX_EVENT_MB" in err["message"]
        assert err["details"]["limit_bytes"] == 1024 * 1024 and err["request_id"]
    # a bomb: 64 MiB of one byte, a few KiB on the wire
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]")
    assert len(bomb) < 200_000
    r = _post(bank, bomb, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    # broken encodings: 400 with the reason
    r = _post(bank, b"\x1f\x8b\x08\x00broken", **{"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["message"]
    r = _post(bank, body[:100], **{"Content-Encoding": "br"})
    assert r.status_code == 400 and "Content-Encoding" in r.json()["message"]
    r = _post(bank, gzip.compress(b'{"eventType": "START"'), **{"Content-Encoding": "gzip"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    _nothing_written(bank)


def test_a_raised_limit_lets_big_events_through_the_gzip_client(make_server: Any, database_url: str) -> None:
    bank = start_bank(make_server, database_url, openlineage_max_event_mb=4.0)
    run_id = str(uuid.uuid4())
    assert _post(bank, _body(_event(2 * 1024 * 1024, run_id))).status_code == 201
    sent = emitter(bank, bank.editor, gzip=True).transport.emit(_event(3 * 1024 * 1024, run_id))
    assert sent.status_code == 201 and sent.json()["run_id"] == run_id
    r = _post(bank, gzip.compress(_body(_event(5 * 1024 * 1024))), **{"Content-Encoding": "gzip"})
    assert r.status_code == 413 and r.json()["details"]["limit_bytes"] == 4 * 1024 * 1024
    with bank.http("viewer") as h:
        events = h.get("/api/v1/events/lineage").json()["events"]
        assert len(events) == 2
        assert len(json.dumps(events[0])) > 3 * 1024 * 1024  # kept as sent, whole
        facets = h.get(f"/api/v1/jobs/runs/{run_id}/facets").json()["facets"]
        assert len(facets["spark.logicalPlan"]["plan"]) == 3 * 1024 * 1024


def test_facets_finlineage_reads_are_checked_against_their_schemas(
    make_server: Any, database_url: str
) -> None:
    bank = start_bank(make_server, database_url)
    facet = {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}/facet.json"}

    def event(run_facets: dict[str, Any], outputs: list[dict[str, Any]] | None = None) -> bytes:
        return json.dumps(
            {
                "eventType": "START",
                "eventTime": "2026-12-06T11:00:00Z",
                "producer": PRODUCER,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": str(uuid.uuid4()), "facets": run_facets},
                "job": {"namespace": "fjord-airflow", "name": "dag.task"},
                "outputs": outputs or [],
            }
        ).encode()

    cases = {
        "nominalTime.nominalStartTime": event({"nominalTime": {**facet, "nominalStartTime": 1733482800}}),
        "nominalTime.nominalEndTime": event(
            {
                "nominalTime": {
                    **facet,
                    "nominalStartTime": "2026-12-06T00:00:00Z",
                    "nominalEndTime": "tomorrow",
                }
            }
        ),
        "parent.run.runId": event({"parent": {**facet, "job": {"namespace": "a", "name": "b"}, "run": {}}}),
        "parent.job": event({"parent": {**facet, "run": {"runId": str(uuid.uuid4())}, "job": {"name": "b"}}}),
        "schema.fields[1].type": event(
            {},
            [
                {
                    "namespace": "s3://fjord",
                    "name": "out/",
                    "facets": {
                        "schema": {
                            **facet,
                            "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": 7}],
                        }
                    },
                }
            ],
        ),
    }
    for path, body in cases.items():
        r = _post(bank, body)
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert path in r.json()["message"], (path, r.json()["message"])
    _nothing_written(bank)
    # the same facets, well formed, are accepted; a deleted one needs no fields
    ok = event(
        {
            "nominalTime": {**facet, "nominalStartTime": "2026-12-06T00:00:00+01:00"},
            "parent": {**facet, "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "a", "name": "b"}},
        }
    )
    assert _post(bank, ok).status_code == 201
    assert _post(bank, event({"nominalTime": {**facet, "_deleted": True}})).status_code == 201


def test_a_namespace_setting_must_name_an_authority(make_server: Any, database_url: str, roots: Path) -> None:
    bank = start_bank(make_server, database_url)
    tree = write_tree(roots / "fjord", {"pg/t.sql": "CREATE TABLE fj.rates (ccy text, rate numeric);\n"})
    res = bank.ingest(tree, "fjord", "fjord-pg")
    url = f"/api/v1/repositories/{res['repository_id']}/namespace"
    with bank.http("editor") as h:
        assert h.put(url, json={"namespace": "fjord-db:5432"}).json()["authority"] == "fjord-db:5432"
        for bad in ("postgres://", "fjord db:5432", "mssql:///"):
            r = h.put(url, json={"namespace": bad})
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["details"][0]["loc"] == ["body", "namespace"]
        # nothing changed; null and blank reset to the repository name
        names = {n["name"] for n in h.get("/api/v1/namespaces").json()["namespaces"]}
        assert [n for n in names if n.endswith("://fjord-db:5432")], names
        assert h.put(url, json={"namespace": "  "}).json()["authority"] == "fjord-pg"
        assert h.put(url, json={"namespace": "postgres://fjord-db"}).json()["authority"] == "fjord-db"


def test_events_get_their_own_limit_other_json_routes_keep_theirs(
    make_server: Any, database_url: str
) -> None:
    """By default a several-MB event (a Spark plan) goes through, gzipped or not, while every other
    JSON route still stops at FINLINEAGE_REQUEST_MAX_JSON_MB."""
    bank = start_bank(make_server, database_url)
    body = _body(_event(3 * 1024 * 1024))
    assert _post(bank, body).status_code == 201
    assert _post(bank, gzip.compress(body), **{"Content-Encoding": "gzip"}).status_code == 201
    with bank.http() as h:
        r = h.post("/api/v1/chat", content=b'{"question": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    assert r.status_code == 413 and "FINLINEAGE_REQUEST_MAX_JSON_MB" in r.json()["message"], r.text[:200]
