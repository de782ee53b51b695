"""Governance tests: a real uvicorn server (auth on) on a real store (SQLite file or embedded
PostgreSQL), three API keys (two editors, one admin), uploads over HTTP.

The corpus is our own: a ledger loaded into balances by a procedure, FX quotes, and a filing
view reading the balances. Version 2 of the procedure drops the FX multiplication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from finlineage.api.app import create_app
from finlineage.settings import Settings
from realtime.conftest import ThreadServer
from support import app_settings

DDL = b"""CREATE TABLE ledger.entries (entry_id INT, amt DECIMAL(18,2), cur VARCHAR(3), booked DATE);
CREATE TABLE fxr.quotes (cur VARCHAR(3), mid DECIMAL(18,6));
CREATE TABLE agg.balances (entry_id INT, amt_eur DECIMAL(18,2), cur VARCHAR(3));
CREATE TABLE rep.filing (entry_id INT, value_eur DECIMAL(18,2));
"""

PROC_V1 = b"""CREATE PROCEDURE agg.load_balances AS
BEGIN
    INSERT INTO agg.balances (entry_id, amt_eur, cur)
    SELECT e.entry_id, e.amt * q.mid, e.cur
    FROM ledger.entries e
    JOIN fxr.quotes q ON q.cur = e.cur;
END
"""

PROC_V2 = b"""CREATE PROCEDURE agg.load_balances AS
BEGIN
    INSERT INTO agg.balances (entry_id, amt_eur, cur)
    SELECT e.entry_id, e.amt, e.cur
    FROM ledger.entries e;
END
"""

FILING = b"""CREATE VIEW rep.v_filing AS
SELECT entry_id, amt_eur AS value_eur FROM agg.balances;
"""

EXTRA = b"CREATE TABLE side.notes (note_id INT, body VARCHAR(200));\n"


def corpus(proc: bytes = PROC_V1, *, extra: bool = False) -> list[tuple[str, bytes]]:
    files = [("ddl/tables.sql", DDL), ("etl/load_balances.sql", proc), ("rep/filing.sql", FILING)]
    if extra:
        files.append(("ddl/side.sql", EXTRA))
    return files


@dataclass
class Server:
    base: str
    keys: dict[str, str]
    settings: Settings
    app: Any

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": self.keys[who]}, timeout=120)

    def upload(
        self, files: list[tuple[str, bytes]], *, who: str = "alice", mode: str = "add"
    ) -> dict[str, Any]:
        multipart = [("files", (name, data, "application/octet-stream")) for name, data in files]
        data = {"project_id": "gov", "repository_name": "warehouse", "dialect": "tsql", "mode": mode}
        with self.client(who) as c:
            r = c.post("/api/v1/files/upload?wait=true", files=multipart, data=data)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert body["status"] in ("completed", "completed_with_errors"), body
        return body


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[Server]:
    settings = app_settings(tmp_path, database_url, auth="on")
    app = create_app(settings)
    srv = ThreadServer(app).start()
    keys = app.state.ctx.keys
    made = {
        "alice": keys.create(name="alice", role="editor")[0],
        "bob": keys.create(name="bob", role="editor")[0],
        "carol": keys.create(name="carol", role="admin")[0],
        "victor": keys.create(name="victor", role="viewer")[0],
    }
    # the project exists before the first upload (uploads never create projects implicitly)
    with httpx.Client(base_url=srv.http, headers={"X-API-Key": made["carol"]}) as c:
        r = c.post("/api/v1/projects", json={"name": "gov"})
        assert r.status_code == 201, r.text
    try:
        yield Server(srv.http, made, settings, app)
    finally:
        srv.stop()
