"""Git ingestion against a real `finlineage serve`: no SSRF (loopback in every spelling refused
before any connection; private/link-local refused through the resolution step), a hanging clone
never blocks an upload, cancel kills git within 2 s and removes the partial clone, clone errors
are sanitised."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from finlineage.ingest.git import GitError, check_git_url
from finlineage.settings import Settings
from support import closed_port

from .conftest import Served, alive, children_of, cmdline, wait_for
from .gitserve import Tarpit, bare_repo, git_daemon


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    pit = Tarpit()
    yield pit
    pit.close()


def _loopback_spellings(port: int) -> list[str]:
    return [
        f"https://localhost:{port}/r.git",
        f"https://127.0.0.1:{port}/r.git",
        f"https://127.0.0.2:{port}/r.git",
        f"https://2130706433:{port}/r.git",
        f"https://0x7f000001:{port}/r.git",
        f"https://0177.0.0.1:{port}/r.git",
        f"https://127.1:{port}/r.git",
        f"https://[::1]:{port}/r.git",
        f"https://[::ffff:127.0.0.1]:{port}/r.git",
        f"ssh://git@localhost:{port}/r.git",
        "git@localhost:r.git",
        f"https://0.0.0.0:{port}/r.git",
    ]


def test_git_urls_to_loopback_local_and_other_transports_are_refused(
    serve: Callable[..., Served], tarpit: Tarpit, tmp_path: Path
) -> None:
    server = serve()
    assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    refused = [
        *_loopback_spellings(tarpit.port),
        f"http://127.0.0.1:{tarpit.port}/r.git",  # http is not allowed by default
        f"git://127.0.0.1:{tarpit.port}/r.git",
        f"file://{tmp_path}",
        str(tmp_path),
        "./repo",
        f"ext::nc 127.0.0.1 {tarpit.port}",
        "https://10.1.2.3/r.git",
        "https://172.16.0.1/r.git",
        "https://192.168.1.1/r.git",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/r.git",
        "https://[fe80::1]/r.git",
        "https://224.0.0.1/r.git",
        "--upload-pack=touch /tmp/x",
    ]
    for url in refused:
        r = server.post("/api/v1/ingest/git", json={"url": url, "project_id": "p"})
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert r.json()["error"] == "validation_error"
    assert tarpit.accepted == 0  # refused before any connection


def test_private_and_link_local_answers_of_the_resolver_are_refused() -> None:
    """The resolution step (a stub resolver; nothing is sent anywhere)."""
    settings = Settings(git_allowed_hosts=[])
    answers = {
        "rfc1918.example": ["10.0.0.7"],
        "cgnat-ish.example": ["192.168.10.1"],
        "metadata.example": ["169.254.169.254"],
        "ula.example": ["fd12:3456::1"],
        "linklocal6.example": ["fe80::1"],
        "multicast.example": ["239.1.1.1"],
        "mixed.example": ["93.184.216.34", "10.0.0.1"],  # one private answer is enough to refuse
        "mapped.example": ["::ffff:10.0.0.1"],
    }
    for host, addresses in answers.items():
        with pytest.raises(GitError) as exc:
            check_git_url(settings, f"https://{host}/r.git", resolver=lambda h, p, a=addresses: a)
        assert exc.value.status == 422, host
    public = check_git_url(settings, "https://code.example/r.git", resolver=lambda h, p: ["93.184.216.34"])
    assert public.address == "93.184.216.34"  # pinned for the clone
    assert "http.curloptResolve=code.example:443:93.184.216.34" in " ".join(public.git_config())
    allowed = Settings(git_allowed_hosts=["10.0.0.0/8", "git.internal:8443"])
    assert check_git_url(allowed, "https://rfc1918.example/r.git", resolver=lambda h, p: ["10.0.0.7"])
    assert check_git_url(allowed, "https://git.internal:8443/r.git", resolver=lambda h, p: ["192.168.1.9"])
    with pytest.raises(GitError):
        check_git_url(allowed, "https://git.internal/r.git", resolver=lambda h, p: ["192.168.1.9"])


def _git_processes(server: Served, port: int) -> list[int]:
    return [p for p in children_of(server.proc.pid) if f":{port}" in cmdline(p) and alive(p)]


def test_hanging_clone_does_not_block_uploads_and_cancel_kills_git(
    serve: Callable[..., Served], tarpit: Tarpit, tmp_path: Path
) -> None:
    server = serve(
        FINLINEAGE_GIT_ALLOWED_HOSTS="127.0.0.1",
        FINLINEAGE_GIT_ALLOWED_SCHEMES="https,http",
        FINLINEAGE_GIT_TIMEOUT_S="600",
    )
    assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    started = server.post(
        "/api/v1/ingest/git", json={"url": f"http://127.0.0.1:{tarpit.port}/r.git", "project_id": "p"}
    )
    assert started.status_code == 202, started.text
    iid = started.json()["ingestion_id"]
    wait_for(lambda: tarpit.accepted >= 1, 20, what="git connected to the tarpit")
    assert _git_processes(server, tarpit.port), "git is running"
    # an upload beside the hanging clone completes
    up = server.post(
        "/api/v1/files/upload?wait=true",
        files=[("files", ("a.sql", b"CREATE TABLE t (a INT);\n"))],
        data={"project_id": "p"},
    )
    assert up.status_code == 200, up.text
    assert up.json()["status"].startswith("completed"), up.json()
    assert server.get(f"/api/v1/ingestion/{iid}").json()["status"] in ("queued", "running")
    # cancel: the git process group is gone within 2 s, the partial clone removed
    cancelled = server.delete(f"/api/v1/ingestion/{iid}")
    assert cancelled.status_code == 200, cancelled.text
    t0 = time.monotonic()
    wait_for(lambda: not _git_processes(server, tarpit.port), 2.0, what="git killed")
    assert time.monotonic() - t0 <= 2.0
    assert not (tmp_path / "data" / "uploads" / iid / "git").exists()
    assert server.get(f"/api/v1/ingestion/{iid}").json()["status"] == "cancelled"


def test_clone_limits_and_sanitised_errors(serve: Callable[..., Served], tmp_path: Path) -> None:
    repos = tmp_path / "repos"
    repos.mkdir()
    bare_repo(repos, "big.git", {f"f{i}.sql": bytes(range(256)) * 4096 for i in range(4)})  # ~4 MiB
    bare_repo(repos, "small.git", {"a.sql": b"CREATE TABLE t (a INT);\n"})
    server = serve(
        FINLINEAGE_GIT_ALLOWED_HOSTS="127.0.0.1",
        FINLINEAGE_GIT_ALLOWED_SCHEMES="git",
        FINLINEAGE_GIT_MAX_MB="1",
    )
    assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    with git_daemon(repos) as port:
        ok = server.post(
            "/api/v1/ingest/git?wait=true",
            json={"url": f"git://127.0.0.1:{port}/small.git", "project_id": "p"},
        )
        assert ok.status_code == 200 and ok.json()["files_processed"] == 1, ok.text
        big = server.post(
            "/api/v1/ingest/git?wait=true", json={"url": f"git://127.0.0.1:{port}/big.git", "project_id": "p"}
        )
        assert big.json()["status"] == "failed", big.text
        assert "FINLINEAGE_GIT_MAX_MB" in big.json()["error"]
        assert not (tmp_path / "data" / "uploads" / big.json()["ingestion_id"] / "git").exists()


def test_clone_errors_do_not_tell_port_states_or_banners(serve: Callable[..., Served]) -> None:
    """A closed port and a port answering with a banner give the same sanitised error."""
    banner = b"SSH-2.0-SecretBanner_9.9 internal-build\r\n"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    open_port = listener.getsockname()[1]

    def answer() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.sendall(banner)

    threading.Thread(target=answer, daemon=True).start()
    server = serve(FINLINEAGE_GIT_ALLOWED_HOSTS="127.0.0.1", FINLINEAGE_GIT_ALLOWED_SCHEMES="http")
    assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    errors = []
    with closed_port() as refusing_port:
        for port in (open_port, refusing_port):
            r = server.post(
                "/api/v1/ingest/git?wait=true",
                json={"url": f"http://127.0.0.1:{port}/r.git", "project_id": "p"},
            )
            assert r.status_code == 200 and r.json()["status"] == "failed", r.text
            errors.append(r.json()["error"].replace(str(port), "PORT"))
    listener.close()
    assert errors[0] == errors[1]
    assert "SecretBanner" not in errors[0] and "refused" not in errors[0].lower()


def test_cancel_sent_to_another_instance_stops_the_clone(tmp_path: Path, tarpit: Tarpit) -> None:
    """Two ingestion services on one store (API instance + queue worker): the worker's clone stops
    once the run is cancelled through the other one."""
    from finlineage.ingest.service import IngestError, IngestionService
    from finlineage.store import db as store_db
    from finlineage.store import repositories as repo

    settings = Settings(
        data_dir=tmp_path / "data",
        log_dir=tmp_path / "logs",
        git_allowed_hosts=["127.0.0.1"],
        git_allowed_schemes=["http"],
    )
    settings.ensure_dirs()
    url = settings.effective_database_url
    store_db.migrate(url)
    worker = IngestionService(settings, store_db.session_factory(store_db.create_engine_for(url)))
    api = IngestionService(settings, store_db.session_factory(store_db.create_engine_for(url)))
    try:
        with api.sessions.begin() as s:
            repo.create_project(s, "p")
        run = api.create_git_run(project="p", url=f"http://127.0.0.1:{tarpit.port}/r.git")
        outcome: list[object] = []
        thread = threading.Thread(target=lambda: outcome.append(_collect(worker, run)), daemon=True)
        thread.start()
        wait_for(lambda: tarpit.accepted >= 1, 20, what="git connected to the tarpit")
        api.cancel(run.ingestion_id)
        thread.join(3.0)
        assert not thread.is_alive(), "the clone did not stop"
        assert isinstance(outcome[0], IngestError) and "cancelled" in outcome[0].message
        assert not (tmp_path / "data" / "uploads" / run.ingestion_id / "git").exists()
    finally:
        api.close()
        worker.close()


def _collect(service: object, run: object) -> object:
    from finlineage.ingest.service import IngestError

    try:
        return service._collect_git(run, run.params)  # type: ignore[attr-defined]
    except IngestError as exc:
        return exc


def test_a_clone_past_its_time_limit_is_stopped(
    serve: Callable[..., Served], tarpit: Tarpit, tmp_path: Path
) -> None:
    server = serve(
        FINLINEAGE_GIT_ALLOWED_HOSTS="127.0.0.1",
        FINLINEAGE_GIT_ALLOWED_SCHEMES="http",
        FINLINEAGE_GIT_TIMEOUT_S="2",
    )
    assert server.post("/api/v1/projects", json={"name": "p"}).status_code in (200, 201)
    r = server.post(
        "/api/v1/ingest/git?wait=true",
        json={"url": f"http://127.0.0.1:{tarpit.port}/r.git", "project_id": "p"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "failed" and "FINLINEAGE_GIT_TIMEOUT_S" in body["error"], body
    assert tarpit.accepted >= 1
    assert not _git_processes(server, tarpit.port)
    assert not (tmp_path / "data" / "uploads" / body["ingestion_id"] / "git").exists()
