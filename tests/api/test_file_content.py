"""GET /api/v1/files/{id}/content serves line ranges of the stored text of an ingested file."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

SCRIPT = """CREATE TABLE stg.fx (ccy VARCHAR(3), rate DECIMAL(18, 8));
CREATE TABLE stg.trades (id INT, ccy VARCHAR(3), amount DECIMAL(18, 2));
CREATE VIEW rpt.trades_usd AS
SELECT t.id, t.amount * f.rate AS amount_usd
FROM stg.trades t JOIN stg.fx f ON f.ccy = t.ccy;
"""


def test_file_content_line_ranges(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    ingested = client.post(
        "/api/v1/ingest/sql?wait=true",
        json={
            "sql": SCRIPT,
            "project_id": "content",
            "create_project": True,
            "dialect": "postgres",
            "path": "views/trades_usd.sql",
        },
    )
    assert ingested.status_code == 200, ingested.text
    file_id = client.get("/api/v1/files", params={"path": "trades_usd"}).json()["items"][0]["id"]

    whole = client.get(f"/api/v1/files/{file_id}/content").json()
    assert whole["path"] == "views/trades_usd.sql"
    assert whole["total_lines"] == 5 and whole["lines"] == SCRIPT.splitlines()

    view = client.get(f"/api/v1/files/{file_id}/content", params={"from": 3, "to": 5}).json()
    assert view["line_start"] == 3 and view["line_end"] == 5
    assert view["lines"][0].startswith("CREATE VIEW rpt.trades_usd")

    assert client.get(f"/api/v1/files/{file_id}/content", params={"from": 9}).status_code == 422
    assert client.get(f"/api/v1/files/{file_id}/content", params={"from": 4, "to": 2}).status_code == 422
    missing = client.get("/api/v1/files/999999/content")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
