"""`finlineage diff` against a store written by a real server, and `finlineage diff-git` against a
real local git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import PROC_V2, Server, corpus

FINLINEAGE = str(Path(sys.executable).parent / "finlineage")


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FINLINEAGE, *args], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_finlineage_diff_prints_the_changed_procedure(server: Server, tmp_path: Path) -> None:
    server.upload(corpus())
    server.upload(corpus(PROC_V2))
    env = {
        "FINLINEAGE_DATABASE_URL": server.settings.effective_database_url,
        "FINLINEAGE_DATA_DIR": str(server.settings.data_dir),
        "FINLINEAGE_LOG_DIR": str(tmp_path / "cli-logs"),
    }
    md = _run(["diff", "--project", "gov", "--from", "1", "--to", "2"], env, tmp_path)
    assert md.returncode == 0, md.stderr
    assert "version 1 → 2" in md.stdout
    assert "`fxr.quotes.mid` → `agg.balances.amt_eur`" in md.stdout
    assert "| 2 | `rep.v_filing` | view |" in md.stdout
    gate = _run(
        ["diff", "--project", "gov", "--from", "1", "--to", "2", "--fail-on", "removed"], env, tmp_path
    )
    assert gate.returncode == 1 and "downstream consumers" in gate.stderr
    js = _run(["diff", "--project", "gov", "--format", "json"], env, tmp_path)  # default: last two
    assert js.returncode == 0, js.stderr
    body = json.loads(js.stdout)
    assert (body["from"], body["to"]) == (1, 2)
    assert any(e["source"] == "fxr.quotes.mid" for e in body["removed"])
    unknown = _run(["diff", "--project", "gov", "--from", "1", "--to", "5"], env, tmp_path)
    assert unknown.returncode == 2 and "no version 5" in unknown.stderr


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )
    return out.stdout.strip()


def test_diff_git_between_two_refs_of_a_local_repository(tmp_path: Path) -> None:
    repo = tmp_path / "sqlrepo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for name, data in corpus():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "v1")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "etl/load_balances.sql").write_bytes(PROC_V2)
    _git(repo, "commit", "-q", "-am", "drop fx")
    env = {"FINLINEAGE_LOG_DIR": str(tmp_path / "logs"), "FINLINEAGE_DATA_DIR": str(tmp_path / "unused")}
    res = _run(["diff-git", str(repo), "--base", base, "--head", "main", "--dialect", "tsql"], env, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "`fxr.quotes.mid` → `agg.balances.amt_eur`" in res.stdout
    assert "rep.v_filing" in res.stdout
    gate = _run(
        ["diff-git", str(repo), "--base", base, "--head", "main", "--fail-on", "removed", "--format", "json"],
        env,
        tmp_path,
    )
    assert gate.returncode == 1
    assert any(e["target"] == "agg.balances.amt_eur" for e in json.loads(gate.stdout)["removed"])
    same = _run(
        ["diff-git", str(repo), "--base", "main", "--head", "main", "--fail-on", "removed"], env, tmp_path
    )
    assert same.returncode == 0 and "No lineage changes" in same.stdout
    bad = _run(["diff-git", str(repo), "--base", "no-such-ref", "--head", "main"], env, tmp_path)
    assert bad.returncode == 2 and "error" in bad.stderr
    assert not (tmp_path / "unused").exists()  # the throwaway store lives in a temporary folder
