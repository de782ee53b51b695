"""kill -9 of a real `finlineage serve` leaves no parse-pool or git process behind."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from .conftest import Served, alive, children_of, cmdline, wait_for
from .gitserve import Tarpit


def test_kill_9_takes_the_parse_pool_and_git_with_it(serve: Callable[..., Served]) -> None:
    pit = Tarpit()
    try:
        server = serve(
            FINLINEAGE_PARSE_WORKERS="2",
            FINLINEAGE_GIT_ALLOWED_HOSTS="127.0.0.1",
            FINLINEAGE_GIT_ALLOWED_SCHEMES="http",
        )
        assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
        files = [("files", (f"f{i}.sql", f"CREATE TABLE t{i} (a INT);\n".encode())) for i in range(8)]
        up = server.post("/api/v1/files/upload?wait=true", files=files, data={"project_id": "p"})
        assert up.status_code == 200, up.text
        started = server.post(
            "/api/v1/ingest/git", json={"url": f"http://127.0.0.1:{pit.port}/r.git", "project_id": "p"}
        )
        assert started.status_code == 202, started.text
        wait_for(lambda: pit.accepted >= 1, 20, what="git connected to the tarpit")
        descendants = children_of(server.proc.pid)
        pool = [p for p in descendants if "multiprocessing" in cmdline(p)]
        git = [p for p in descendants if cmdline(p).startswith("git")]
        assert len(pool) >= 2, [cmdline(p) for p in descendants]
        assert git, [cmdline(p) for p in descendants]
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        try:
            wait_for(lambda: not [p for p in descendants if alive(p)], 10, what="orphans gone")
        except AssertionError:
            survivors = [cmdline(p) for p in descendants if alive(p)]
            for p in descendants:
                if alive(p):
                    os.kill(p, signal.SIGKILL)
            raise AssertionError(f"left running after kill -9: {survivors}") from None
    finally:
        pit.close()
