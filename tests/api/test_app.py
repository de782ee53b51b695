"""The API skeleton: error envelope, request ids, health, metrics, auth modes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from finlineage.api.context import AppContext


def test_health_reports_components(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    body = client.get("/health").json()
    assert body["status"] == "healthy"
    assert body["components"]["database"]["status"] == "up"
    assert body["components"]["redis"]["status"] == "disabled"


def test_unknown_route_uses_error_envelope_and_request_id(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    resp = client.get("/api/v1/does-not-exist", headers={"X-Request-ID": "abc123"})
    assert resp.status_code == 404
    body = resp.json()
    assert body["error"] == "not_found"
    assert body["request_id"] == "abc123"
    assert resp.headers["x-request-id"] == "abc123"


def test_request_id_generated_when_absent(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]
    assert len(first) == 32 and first != second


def test_metrics_count_requests_by_route_template(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    client.get("/health")
    client.get("/health")
    text = client.get("/metrics").text
    line = next(
        row
        for row in text.splitlines()
        if row.startswith("finlineage_http_requests_total{") and 'route="/health"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) >= 2.0
    assert "finlineage_http_request_duration_seconds_bucket" in text


def test_database_down_degrades_health_and_500_hides_trace(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    # Point the engine at an unreachable database: a genuine failure, not a mock.
    from finlineage.store import db as store_db

    good_engine = ctx.engine
    ctx.engine = store_db.create_engine_for("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        body = client.get("/health").json()
        assert body["status"] == "degraded"
        assert body["components"]["database"]["status"] == "down"
    finally:
        ctx.engine.dispose()
        ctx.engine = good_engine


def test_auth_on_requires_key_for_protected_routes(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth="on")
    assert client.get("/health").status_code == 200  # public
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    plaintext, _ = ctx.keys.create(name="reader", role="viewer")
    assert ctx.keys.verify(plaintext) is not None
    assert ctx.keys.verify(plaintext + "x") is None


def test_unhandled_error_is_an_envelope_with_request_id_and_no_trace(
    make_client: Callable[..., TestClient],
) -> None:
    from sqlalchemy import text

    client = make_client()
    ctx: AppContext = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.engine.begin() as conn:  # a genuine failure: the table the route reads is gone
        conn.execute(text("ALTER TABLE objects RENAME TO objects_gone"))
    try:
        resp = client.get("/api/v1/lineage/nodes", headers={"X-Request-ID": "boom-1"})
    finally:
        with ctx.engine.begin() as conn:
            conn.execute(text("ALTER TABLE objects_gone RENAME TO objects"))
    assert resp.status_code == 500
    body = resp.json()
    assert body == {
        "error": "internal_error",
        "message": "internal server error",
        "request_id": "boom-1",
        "details": None,
    }
    assert resp.headers["x-request-id"] == "boom-1"
    assert "Traceback" not in resp.text
