"""Many concurrent reads against one real uvicorn instance all complete: the connection pool is
sized above the route thread pool, so requests waiting for a thread never starve those holding a
connection (the deadlock the cluster benchmark found with 100 clients)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("threads", [4, 32])
async def test_concurrent_reads_all_complete(
    start_server: Callable[..., Any], database_url: str, threads: int
) -> None:
    server = start_server(database_url=database_url, http_threads=threads)
    clients = 100

    async def reader(http: httpx.AsyncClient) -> list[int]:
        codes = []
        for _ in range(3):
            resp = await http.get("/api/v1/lineage/nodes", params={"limit": 20})
            codes.append(resp.status_code)
        return codes

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.http, timeout=60, limits=limits) as http:
        results = await asyncio.gather(*(reader(http) for _ in range(clients)))
        health = await http.get("/health")
    assert [code for codes in results for code in codes] == [200] * (clients * 3)
    assert health.json()["components"]["database"]["status"] == "up"
