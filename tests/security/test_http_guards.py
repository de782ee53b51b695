"""Attacks on a real `finlineage serve`: chunked bodies over the limits, foreign Host headers
(DNS rebinding) on HTTP and WebSocket, unauthenticated /health."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .conftest import Served, cli

MIB = 1024 * 1024


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b"x" * n


def _raw_chunked(
    port: int, path: str, content_type: str, total: int, host: str = "127.0.0.1", prefix: bytes = b""
) -> tuple[int, int]:
    """Send a chunked body (no Content-Length) of `total` bytes; stop once the server answers.
    Returns (status, bytes sent before the answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    sent = 0
    if prefix:
        sock.sendall(f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n")
        sent = len(prefix)
    sock.setblocking(False)
    answer = b""
    try:
        for chunk in _chunks(total):
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            sock.setblocking(True)
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # the server closed: it answered
                break
            sock.setblocking(False)
            sent += len(chunk)
        sock.setblocking(True)
        sock.settimeout(30)
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1") else 0
    return status, sent


def _dir_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_chunked_bodies_over_the_limits_get_413_and_nothing_is_kept(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    server = serve(FINLINEAGE_REQUEST_MAX_BODY_MB="2", FINLINEAGE_REQUEST_MAX_JSON_MB="0.25")
    # JSON route (any): 20 MiB chunked, limit 256 KiB
    status, sent = _raw_chunked(server.port, "/api/v1/projects", "application/json", 20 * MIB)
    assert status == 413
    assert sent < 20 * MIB  # answered while the body was still streaming
    # upload route: 50 MiB chunked multipart, limit 2 MiB
    boundary = "b0undary"
    status, sent = _raw_chunked(
        server.port,
        "/api/v1/files/upload",
        f"multipart/form-data; boundary={boundary}",
        50 * MIB,
        prefix=(
            f'--{boundary}\r\nContent-Disposition: form-data; name="project_id"\r\n\r\nfine\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.sql"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode(),
    )
    assert status == 413
    assert sent < 50 * MIB
    uploads = tmp_path / "data" / "uploads"
    assert _dir_bytes(uploads) <= 2 * MIB  # nothing beyond the limit written anywhere
    # Content-Length over the limit: refused before reading
    big = server.post(
        "/api/v1/projects",
        content=b"{" + b" " * (300 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    body = big.json()
    assert body["error"] == "too_large" and set(body) == {"error", "message", "request_id", "details"}
    # under the limits everything still works
    ok = server.post("/api/v1/projects", json={"name": "fine"})
    assert ok.status_code in (200, 201), ok.text
    upload = server.post(
        "/api/v1/files/upload?wait=true",
        files=[("files", ("a.sql", b"CREATE TABLE t (a INT);\n"))],
        data={"project_id": "fine"},
    )
    assert upload.status_code in (200, 202), upload.text


@pytest.mark.parametrize("auth", ["off", "on"])
def test_foreign_host_headers_are_refused_on_http_and_websocket(
    serve: Callable[..., Served], auth: str
) -> None:
    server = serve(FINLINEAGE_AUTH=auth)
    headers: dict[str, str] = {}
    if auth == "on":
        key = cli(server.env, "keys", "create", "--name", "ops", "--role", "admin").splitlines()[0].strip()
        headers = {"X-API-Key": key}
    for host in ("rebind.attacker.example", f"rebind.attacker.example:{server.port}", "127.0.0.1.nip.io"):
        r = httpx.get(server.http + "/api/v1/projects", headers={**headers, "Host": host}, timeout=10)
        assert r.status_code == 400, (host, r.text)
        assert r.json()["error"] == "host_not_allowed"
        created = httpx.post(
            server.http + "/api/v1/projects",
            json={"name": "evil"},
            headers={**headers, "Host": host},
            timeout=10,
        )
        assert created.status_code == 400
    assert httpx.get(server.http + "/api/v1/projects", headers=headers, timeout=10).status_code == 200
    for host in (f"localhost:{server.port}", f"[::1]:{server.port}"):
        assert (
            httpx.get(
                server.http + "/api/v1/projects", headers={**headers, "Host": host}, timeout=10
            ).status_code
            == 200
        )

    async def ws(host: str) -> int:
        token = f"?token={headers['X-API-Key']}" if headers else ""
        try:
            async with connect(server.ws + token, additional_headers={"Host": host}, open_timeout=10):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    assert asyncio.run(ws("rebind.attacker.example")) == 400
    assert asyncio.run(ws(f"127.0.0.1:{server.port}")) == 101


def test_unauthenticated_health_shows_status_per_component_only(serve: Callable[..., Served]) -> None:
    server = serve(FINLINEAGE_AUTH="on")
    health = server.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["components"], body
    for name, component in body["components"].items():
        assert set(component) == {"status"}, (name, component)
    text = json.dumps(body)
    assert str(server.proc.pid) not in text
    assert "log" not in text.replace('"activity"', "") or "path" not in text
    key = cli(server.env, "keys", "create", "--name", "ops", "--role", "viewer").splitlines()[0].strip()
    detailed = server.get("/health", headers={"X-API-Key": key}).json()
    assert any(set(c) - {"status"} for c in detailed["components"].values())


def test_a_repeated_single_value_query_parameter_is_refused(serve: Callable[..., Served]) -> None:
    """FastAPI keeps the last of `?limit=2&limit=3` silently; a parameter declared as one value
    given several times is a 422 with the envelope, while list parameters may repeat."""
    server = serve()
    refused = server.get("/api/v1/lineage/nodes?limit=2&limit=3")
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "validation_error" and body["details"][0]["loc"] == ["query", "limit"]
    assert refused.headers.get("x-request-id") == body["request_id"]
    assert server.get("/api/v1/lineage/nodes?limit=2").status_code == 200
    assert server.get("/api/v1/files?status=active&status=error").status_code == 200
