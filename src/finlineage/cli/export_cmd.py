"""`finlineage export --format openlineage|graphml|mermaid|dot|csv [--project P] [--out FILE]` and
`finlineage namespace set REPOSITORY NAMESPACE --project P`: the OpenLineage namespace authority
of a repository (`--reset` goes back to the repository name).

Exit codes: 0 done, 2 bad arguments (unknown project or repository).
"""

from __future__ import annotations

from pathlib import Path

import typer

from finlineage.settings import Settings

namespace_app = typer.Typer(help="OpenLineage namespaces of repositories.", no_args_is_help=True)


def _sessions(settings: Settings):  # type: ignore[no-untyped-def]
    from finlineage.store import db as store_db

    url = settings.effective_database_url
    store_db.migrate(url)
    return store_db.session_factory(store_db.create_engine_for(url))


def export(
    fmt: str = typer.Option(
        "openlineage", "--format", "-f", help="openlineage, graphml, mermaid, dot or csv."
    ),
    project: str | None = typer.Option(None, "--project", "-p", help="Project name or id (default: all)."),
    granularity: str | None = typer.Option(None, "--granularity", "-g", help="table or column."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file (default: stdout)."),
) -> None:
    """Export the lineage graph (OpenLineage RunEvents by default)."""
    from finlineage.query import export as q
    from finlineage.query.common import Scope
    from finlineage.query.errors import QueryError
    from finlineage.query.projects import resolve_project

    if fmt not in q.EXPORT_FORMATS:
        typer.echo(f"error: unknown format {fmt!r} (one of {', '.join(q.EXPORT_FORMATS)})", err=True)
        raise typer.Exit(2)
    if granularity not in (None, "table", "column"):
        typer.echo("error: --granularity is table or column", err=True)
        raise typer.Exit(2)
    settings = Settings()
    with _sessions(settings)() as session:
        try:
            pid = resolve_project(session, project).id if project is not None else None
            body, _, _ = q.export(
                session,
                fmt,  # type: ignore[arg-type]
                Scope(project_id=pid),
                granularity=granularity,  # type: ignore[arg-type]
                data_dir=settings.data_dir,
            )
        except QueryError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    if out is None:
        typer.echo(body, nl=False)
    else:
        out.write_text(body, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


@namespace_app.command("set")
def set_namespace(
    repository: str = typer.Argument(..., help="Repository name or id."),
    namespace: str | None = typer.Argument(
        None, help="Authority such as sql-host:1433 (or mssql://sql-host:1433)."
    ),
    project: str = typer.Option(..., "--project", "-p", help="Project name or id."),
    reset: bool = typer.Option(False, "--reset", help="Back to the repository name."),
) -> None:
    """Set the OpenLineage namespace authority of a repository."""
    from finlineage.query.errors import QueryError
    from finlineage.query.openlineage_reads import set_namespace as set_ns
    from finlineage.query.projects import resolve_project
    from finlineage.store import repositories as store

    if not reset and not namespace:
        typer.echo("error: give a NAMESPACE or --reset", err=True)
        raise typer.Exit(2)
    with _sessions(Settings())() as session:
        try:
            pid = resolve_project(session, project).id
        except QueryError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        repo = store.get_repository_by_name(session, pid, repository)
        if repo is None and repository.isdecimal():
            repo = store.get_repository(session, int(repository))
        if repo is None or repo.project_id != pid:
            typer.echo(f"error: repository {repository!r} not found in project {project!r}", err=True)
            raise typer.Exit(2)
        try:
            out = set_ns(session, repo.id, None if reset else namespace)
        except QueryError as exc:  # a namespace the naming spec refuses: said, not a traceback
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"{out['name']}: namespace authority {out['authority']}")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.add_typer(namespace_app, name="namespace")
