"""`finlineage mcp [--project NAME]`: the MCP server over stdio, for Claude Desktop, IDE agents
and other MCP clients. Uses the same store and settings as the server (FINLINEAGE_*)."""

from __future__ import annotations

import typer

from finlineage.settings import Settings


def mcp(
    project: str | None = typer.Option(
        None, "--project", "-p", help="Project name or id the tools answer for (default: the first)."
    ),
) -> None:
    """Serve the lineage tools over MCP (stdio)."""
    from finlineage.mcp.server import LineageMCP, build_server
    from finlineage.query.projects import resolve_project
    from finlineage.store import db as store_db

    settings = Settings()
    url = settings.effective_database_url
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    sessions = store_db.session_factory(engine)
    if project is not None:
        with sessions() as s:
            try:
                resolve_project(s, int(project) if project.isdecimal() else project)
            except Exception as exc:
                typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
                raise typer.Exit(2) from None
    server = build_server(
        LineageMCP(sessions, data_dir=settings.data_dir, project=project, node_cap=settings.walk_node_cap)
    )
    try:
        server.run("stdio")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
