"""`finlineage diff` (two versions of a project) and `finlineage diff-git` (two refs of a local
git repository, ingested into a throwaway store): a Markdown report for a pull request, or JSON.

Exit codes: 0 done; 1 with ``--fail-on removed`` when a column edge that fed downstream
consumers disappeared; 2 for bad arguments (unknown project or version, bad ref, not a git
repository) or a failed ingestion.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from enum import StrEnum
from pathlib import Path

import typer

from finlineage.settings import Settings


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


class FailOn(StrEnum):
    removed = "removed"


def _emit(d: object, fmt: Format, fail_on: FailOn | None) -> None:
    from finlineage.query.diff import DiffOut, render_markdown

    assert isinstance(d, DiffOut)
    if fmt is Format.json:
        typer.echo(json.dumps(d.public(), indent=2))
    else:
        typer.echo(render_markdown(d), nl=False)
    if fail_on is FailOn.removed and d.removed_with_consumers:
        n = len(d.removed_with_consumers)
        typer.echo(f"fail-on removed: {n} removed column edge(s) had downstream consumers", err=True)
        raise typer.Exit(1)


def diff(
    project: str = typer.Option(..., "--project", "-p", help="Project name or id."),
    from_version: int | None = typer.Option(None, "--from", help="Base version (default: --to minus 1)."),
    to_version: int | None = typer.Option(None, "--to", help="Head version (default: the latest)."),
    fmt: Format = typer.Option(Format.markdown, "--format", "-f", help="markdown (for a PR) or json."),
    fail_on: FailOn | None = typer.Option(
        None, "--fail-on", help="removed: exit 1 when a column edge with downstream consumers disappeared."
    ),
) -> None:
    """What changed in a project's lineage between two versions, and what is downstream of it."""
    from finlineage.query import diff as qdiff
    from finlineage.query.errors import QueryError
    from finlineage.store import db as store_db

    settings = Settings()
    url = settings.effective_database_url
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    try:
        with store_db.session_factory(engine)() as session:
            try:
                d = qdiff.diff(session, project, from_version, to_version, data_dir=settings.data_dir)
            except QueryError as exc:
                typer.echo(f"error: {exc.message}", err=True)
                raise typer.Exit(2) from None
    finally:
        engine.dispose()
    _emit(d, fmt, fail_on)


def _git(repo: Path, *args: str) -> bytes:
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-C", str(repo), *args],
        capture_output=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", errors="replace").strip()[-500:]
        typer.echo(f"error: git {' '.join(args[:2])}: {msg}", err=True)
        raise typer.Exit(2)
    return proc.stdout


def _checkout(repo: Path, ref: str, dest: Path, subdir: str | None) -> str:
    """Write the tree of ``ref`` (optionally one folder of it) to ``dest``; returns the commit."""
    if ref.startswith("-"):
        typer.echo(f"error: invalid ref {ref!r}", err=True)
        raise typer.Exit(2)
    commit = _git(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").decode().strip()
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    archive = _git(repo, "archive", "--format=tar", commit, *([subdir] if subdir else []))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        tf.extractall(dest, filter="data")
    return commit


def diff_git(
    path: Path = typer.Argument(..., help="A local git repository."),
    base: str = typer.Option(..., "--base", help="Base ref (branch, tag or commit)."),
    head: str = typer.Option("HEAD", "--head", help="Head ref."),
    subdir: str | None = typer.Option(None, "--subdir", help="Only this folder of the repository."),
    dialect: str = typer.Option("auto", "--dialect", "-d", help="SQL dialect, or auto."),
    fmt: Format = typer.Option(Format.markdown, "--format", "-f", help="markdown (for a PR) or json."),
    fail_on: FailOn | None = typer.Option(
        None, "--fail-on", help="removed: exit 1 when a column edge with downstream consumers disappeared."
    ),
) -> None:
    """Ingest two refs of a local repository into a throwaway store and print their lineage diff."""
    from finlineage.ingest.service import IngestError, IngestionService
    from finlineage.query import diff as qdiff
    from finlineage.store import db as store_db
    from finlineage.store import versions

    repo = path.resolve()
    if not (repo / ".git").exists() and not _git(repo, "rev-parse", "--git-dir").strip():
        typer.echo(f"error: {repo} is not a git repository", err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="finlineage-diff-git-") as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(
            data_dir=tmp / "data",
            log_dir=tmp / "logs",
            database_url=f"sqlite:///{tmp / 'diff.db'}",
            load_demo=False,
            embeddings_enabled=False,
        )
        settings.ensure_dirs()
        url = settings.effective_database_url
        store_db.migrate(url)
        engine = store_db.create_engine_for(url)
        sessions = store_db.session_factory(engine)
        service = IngestionService(settings, sessions)
        tree = tmp / "tree"
        numbers: list[int] = []
        try:
            for ref in (base, head):
                commit = _checkout(repo, ref, tree, subdir)
                try:
                    run = service.create_directory_run(
                        project="diff",
                        paths=[str(tree)],
                        repository_name=repo.name or "repository",
                        dialect=dialect,
                        restrict=False,
                        create_project=True,
                        mode="snapshot",
                    )
                except IngestError as exc:
                    typer.echo(f"error: {exc.message}", err=True)
                    raise typer.Exit(2) from None
                result = service.run_sync(run)
                if result.status == "failed":
                    typer.echo(f"error: ingesting {ref} failed: {result.error}", err=True)
                    raise typer.Exit(2)
                with sessions.begin() as s:
                    pid = int(result.project_id)
                    v = versions.latest_version(s, pid)
                    if v and v not in numbers:
                        versions.set_provenance(s, pid, v, source="git", ref=ref, commit=commit)
                    numbers.append(v)
            with sessions() as s:
                a, b = numbers
                d = qdiff.diff(s, "diff", a, b, data_dir=settings.data_dir)
                d.project = f"{repo.name} {base}..{head}"
        finally:
            service.close(interrupt=False)
            engine.dispose()
    _emit(d, fmt, fail_on)


def register(app: typer.Typer) -> None:
    app.command()(diff)
    app.command("diff-git")(diff_git)
