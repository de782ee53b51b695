"""`finlineage ingest PATH… --project P [--create-project] [--repository R] [--dialect D]
[--snapshot] [--allow-errors]`: ingest straight into the store (no server needed), with a progress
bar and a summary table.

Every failed file is printed as `path:line:col: message` (stderr). Exit code 0 when every file was
ingested, 1 when any file failed (0 with `--allow-errors`) or the run itself failed, 2 for bad
arguments (an unknown project without `--create-project` included).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from finlineage.settings import Settings


def ingest(
    paths: list[Path] = typer.Argument(..., help="Files, folders or .zip/.tar.gz archives."),
    project: str = typer.Option(..., "--project", "-p", help="Project name or id."),
    create_project: bool = typer.Option(
        False, "--create-project", help="Create the project when --project names none."
    ),
    repository: str | None = typer.Option(None, "--repository", "-r", help="Repository name."),
    dialect: str = typer.Option("auto", "--dialect", "-d", help="SQL dialect, or auto."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    snapshot: bool = typer.Option(
        False,
        "--snapshot",
        help="The paths are the whole repository: its files absent from them are removed.",
    ),
    allow_errors: bool = typer.Option(
        False, "--allow-errors", help="Exit 0 even when some files failed to parse."
    ),
    embed: bool = typer.Option(
        False,
        "--embed/--no-embed",
        help="Embed new code chunks for semantic search now (otherwise the server does it in the "
        "background when it starts).",
    ),
) -> None:
    """Ingest SQL files into a project (identical files are skipped)."""
    from finlineage.ingest.models import FileResult
    from finlineage.ingest.service import IngestError, IngestionService
    from finlineage.store import db as store_db

    console = Console(stderr=True)
    settings = Settings()
    settings.ensure_dirs()
    url = settings.effective_database_url
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    service = IngestionService(settings, store_db.session_factory(engine))
    try:
        try:
            run = service.create_directory_run(
                project=project,
                paths=[str(p) for p in paths],
                repository_name=repository,
                dialect=dialect,
                restrict=False,
                create_project=create_project,
                mode="snapshot" if snapshot else "add",
            )
        except IngestError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(2) from None
        if quiet or json_out:
            result = service.run_sync(run)
        else:
            with Progress(
                TextColumn("[bold]ingest[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}", style="dim"),
                console=console,
                transient=False,
            ) as progress:
                bar = progress.add_task("collecting…", total=None)

                def on_progress(res: FileResult, done: int, total: int) -> None:
                    progress.update(bar, completed=done, total=total, description=res.path[-60:])

                result = service.run_sync(run, on_progress=on_progress)
        if embed and result.status in ("completed", "completed_with_errors") and result.files_processed:
            from finlineage.chat.embeddings import after_run_embedder

            embedder = after_run_embedder(settings, service.sessions)
            if embedder is not None:
                with console.status("embedding code chunks for semantic search…"):
                    embedded = embedder(result.project_id, None)
                if embedded and not json_out:
                    console.print(f"embedded {embedded} code chunks")
    finally:
        service.close(interrupt=False)
        engine.dispose()

    if json_out:
        typer.echo(result.model_dump_json(indent=2))
    else:
        out = Console()
        table = Table(title=f"ingestion {result.ingestion_id} ({result.status})", show_header=False)
        for label, value in (
            ("project / repository", f"{result.project_id} / {result.repository_id}"),
            ("files processed", result.files_processed),
            ("files skipped (unchanged)", result.files_skipped_duplicate),
            ("files failed", result.files_failed),
            ("files removed (snapshot)", len(result.files_removed)),
            ("re-resolved earlier files", result.files_reresolved),
            ("nodes created", result.total_nodes_created),
            ("edges created", result.total_edges_created),
            ("duration", f"{result.duration_ms / 1000:.1f} s"),
        ):
            table.add_row(label, str(value))
        out.print(table)
        for w in result.warnings:
            out.print(f"[yellow]warning:[/yellow] {w}")
        if result.error:
            out.print(f"[red]run failed:[/red] {result.error}")
    failed = sorted((r for r in result.results if r.status == "error"), key=lambda r: r.path)
    for r in failed:
        typer.echo(failure_line(r.path, r.line, r.column, r.error or "failed"), err=True)
    if result.status == "failed" or (failed and not allow_errors):
        raise typer.Exit(1)


def failure_line(path: str, line: int | None, column: int | None, message: str) -> str:
    """`path:line:col: message` (the compiler convention editors and CI annotate)."""
    where = path if line is None else f"{path}:{line}" if column is None else f"{path}:{line}:{column}"
    return f"{where}: {message}"


def register(app: typer.Typer) -> None:
    app.command()(ingest)
