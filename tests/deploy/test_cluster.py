"""Against the running `make cluster` topology (PostgreSQL, Redis, 2 API instances, a worker, nginx).

* a dashboard client connected through nginx sees `ingestion_started` … `ingestion_complete` of an
  upload sent to the *other* instance (run executed by a worker; events via Redis pub/sub);
* the graph read through either instance (and nginx) is identical;
* `/admin/restart` on one instance: the other keeps serving, nginx keeps answering, both are
  healthy again afterwards (the supervisor restarts the one that exited 0);
* the worker killed (SIGKILL) mid-ingestion: another worker resumes the run and it ends with the
  same graph as an uninterrupted run of the same files.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from finlineage.demo.generate import generate_corpus

from .conftest import ClusterHandle, pid_alive, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.redis]

TERMINAL = ("completed", "failed", "cancelled", "interrupted")


def corpus(tmp: Path, objects: int, seed: int) -> list[tuple[str, bytes]]:
    out = tmp / f"corpus-{objects}-{seed}"
    if not out.exists():
        generate_corpus(objects, out, seed=seed)
    return sorted((p.relative_to(out).as_posix(), p.read_bytes()) for p in out.rglob("*") if p.is_file())


def upload(http: httpx.Client, base: str, project: str, files: list[tuple[str, bytes]]) -> dict[str, Any]:
    resp = http.post(
        f"{base}/api/v1/files/upload",
        data={"project_id": project, "repository_name": "warehouse", "create_project": "true"},
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
    assert resp.status_code == 202, resp.text
    body: dict[str, Any] = resp.json()
    assert body["status"] == "queued"
    return body


def status(http: httpx.Client, base: str, ingestion_id: str) -> dict[str, Any]:
    resp = http.get(f"{base}/api/v1/ingestion/{ingestion_id}")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def wait_done(http: httpx.Client, base: str, ingestion_id: str, timeout: float = 180) -> dict[str, Any]:
    seen: list[str] = []

    def done() -> dict[str, Any] | None:
        st = status(http, base, ingestion_id)
        if not seen or seen[-1] != st["status"]:
            seen.append(st["status"])
        return st if st["status"] in TERMINAL else None

    result: dict[str, Any] = wait_for(done, timeout, f"ingestion {ingestion_id} to finish", interval=0.2)
    result["seen"] = seen
    return result


def graph(http: httpx.Client, base: str, project_id: int) -> dict[str, list[tuple[str, ...]]]:
    """Table and column edges of a project, without ids (comparable across projects)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for granularity in ("table", "column"):
        resp = http.get(
            f"{base}/api/v1/export",
            params={"format": "csv", "granularity": granularity, "project_id": project_id},
        )
        assert resp.status_code == 200, resp.text
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        out[granularity] = sorted(
            tuple(v for k, v in row.items() if k not in ("edge_id", "project")) for row in rows
        )
    return out


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/api/v1/ws/dashboard"


async def _recv(ws: Any, timeout: float) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return data


def test_ws_via_nginx_sees_a_run_uploaded_to_the_other_instance(
    cluster: ClusterHandle, http: httpx.Client, tmp_path: Path
) -> None:
    files = corpus(tmp_path, 60, seed=7)
    api_pids = cluster.pids("api")
    for base in cluster.apis:  # both instances hand runs to the queue (executed by the worker)
        assert http.get(f"{base}/health").json()["components"]["ingestion"]["mode"] == "queue"

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        async with connect(ws_url(cluster.nginx), origin=cluster.nginx) as ws:
            ack = await _recv(ws, 10)
            assert ack["type"] == "connection_ack"
            served_by = api_pids.index(ack["data"]["pid"])  # which instance nginx picked
            other = cluster.apis[1 - served_by]
            accepted = await asyncio.to_thread(upload, http, other, "ws-demo", files)
            iid = accepted["ingestion_id"]
            got: list[dict[str, Any]] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120
            while True:
                msg = await _recv(ws, max(0.1, deadline - loop.time()))
                if msg["type"].startswith("ingestion_") and msg["data"].get("ingestion_id") == iid:
                    got.append(msg)
                    if msg["type"] == "ingestion_complete":
                        return got, accepted, other

    events, accepted, other = asyncio.run(scenario())
    types = [m["type"] for m in events]
    assert types[0] == "ingestion_started" and types[-1] == "ingestion_complete", types
    assert "ingestion_progress" in types
    assert events[-1]["data"]["status"] == "completed"
    assert events[-1]["data"]["files_processed"] > 0
    final = wait_done(http, other, accepted["ingestion_id"])
    assert final["status"] == "completed"
    assert final["files_processed"] == events[-1]["data"]["files_processed"]


def test_graph_identical_through_either_instance(
    cluster: ClusterHandle, http: httpx.Client, tmp_path: Path
) -> None:
    files = corpus(tmp_path, 40, seed=11)
    accepted = upload(http, cluster.nginx, "same-graph", files)
    final = wait_done(http, cluster.nginx, accepted["ingestion_id"])
    assert final["status"] == "completed", final
    assert final["seen"][-1] == "completed"
    pid = accepted["project_id"]
    via_a, via_b, via_nginx = (graph(http, base, pid) for base in (*cluster.apis, cluster.nginx))
    assert via_a["column"] and via_a["table"]
    assert via_a == via_b == via_nginx
    nodes = [
        http.get(f"{base}/api/v1/lineage/nodes", params={"project_id": pid, "limit": 500})
        for base in cluster.apis
    ]
    assert nodes[0].status_code == nodes[1].status_code == 200, nodes[0].text
    assert nodes[0].json()["items"], nodes[0].json()
    assert nodes[0].json() == nodes[1].json()


def test_admin_restart_of_one_instance_leaves_the_other_serving(
    cluster: ClusterHandle, http: httpx.Client
) -> None:
    a, b = cluster.apis
    old_pid = cluster.pids("api")[0]
    resp = http.post(f"{a}/admin/restart")
    assert resp.status_code in (200, 202), resp.text
    failures: list[str] = []

    def restarted() -> bool:
        for base in (b, cluster.nginx):
            try:
                r = http.get(f"{base}/api/v1/projects", timeout=5)
                if r.status_code != 200:
                    failures.append(f"{base}: {r.status_code}")
            except httpx.HTTPError as exc:
                failures.append(f"{base}: {exc!r}")
        new_pid = cluster.pids("api")[0]
        if new_pid == old_pid:
            return False
        try:
            return http.get(f"{a}/health", timeout=2).json()["status"] == "healthy"
        except (httpx.HTTPError, ValueError):
            return False

    wait_for(restarted, 90, "instance A to exit 0 and come back healthy", interval=0.05)
    assert failures == [], failures[:5]
    assert not pid_alive(old_pid)
    assert next(p for p in cluster.state()["processes"] if p["name"] == "api-a")["restarts"] >= 1
    for base in (a, b, cluster.nginx):
        assert http.get(f"{base}/health").json()["status"] == "healthy"
    assert "api-a: restart requested" in cluster.log_tail()


def test_worker_killed_mid_run_another_worker_finishes_with_the_same_graph(
    cluster: ClusterHandle, http: httpx.Client, tmp_path: Path
) -> None:
    files = corpus(tmp_path, 2400, seed=3)  # > 64 files: results are written in several batches
    data_dir = Path(cluster.state()["data_dir"])
    worker_pid = cluster.pids("worker")[0]

    accepted = upload(http, cluster.apis[0], "killed", files)
    iid = accepted["ingestion_id"]
    run_log = data_dir / "runs" / f"{iid}.jsonl"

    def some_files_done() -> bool:
        if not run_log.exists():
            return False
        return any('"event": "file"' in line for line in run_log.read_text().splitlines())

    wait_for(some_files_done, 120, "the worker to finish its first files")
    before_kill = status(http, cluster.apis[0], iid)
    os.killpg(worker_pid, signal.SIGKILL)  # the worker and its parse processes, mid-run
    wait_for(lambda: not pid_alive(worker_pid), 10, "the worker to die")
    assert before_kill["status"] == "running", "the run finished before the worker could be killed"
    lines_at_kill = run_log.read_text().count('"event": "file"')
    total = len([f for f in files if f[0].endswith(".sql")])
    print(f"worker killed after {lines_at_kill}/{total} files")
    assert lines_at_kill < total

    # the supervisor starts another worker; its reaper re-enqueues the orphaned run
    wait_for(lambda: cluster.pids("worker")[0] != worker_pid, 30, "a new worker")
    resumed = wait_done(http, cluster.apis[1], iid, timeout=240)
    assert resumed["status"] == "completed", resumed
    assert resumed["files_failed"] == 0
    assert run_log.read_text().count('"event": "start"') == 2  # executed twice: killed, resumed
    assert "lost its worker; re-enqueueing" in "".join(
        Path(p["log"]).read_text(errors="replace")
        for p in cluster.state()["processes"]
        if p["role"] == "worker"
    )

    # the same files, uninterrupted, into another project
    ref = upload(http, cluster.apis[1], "uninterrupted", files)
    reference = wait_done(http, cluster.apis[1], ref["ingestion_id"], timeout=240)
    assert reference["status"] == "completed"
    assert resumed["files_processed"] + resumed["files_skipped_duplicate"] == reference["files_processed"]
    g_resumed = graph(http, cluster.nginx, accepted["project_id"])
    g_reference = graph(http, cluster.nginx, ref["project_id"])
    assert len(g_reference["column"]) > 100
    assert g_resumed == g_reference
