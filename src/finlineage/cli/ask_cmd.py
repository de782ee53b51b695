"""`finlineage ask "question" [--mode deep] [--project P] [--json]`: ask the chat engine from a shell.

Uses the same store and settings as the server (FINLINEAGE_*); the offline engine answers when no
LLM is configured.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from finlineage.settings import Settings

MODES = ("text", "semantic", "graph", "deep")


def ask(
    question: str = typer.Argument(..., help="The question, e.g. 'Where does mart.exposure come from?'"),
    mode: str = typer.Option("graph", "--mode", "-m", help="text, semantic, graph or deep."),
    project: str | None = typer.Option(
        None, "--project", "-p", help="Project name or id (default: the first)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full JSON answer."),
    session_id: str | None = typer.Option(None, "--session", help="Session id (memory for follow-ups)."),
) -> None:
    """Ask a question about the lineage."""
    if mode not in MODES:
        typer.echo(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}", err=True)
        raise typer.Exit(2)
    if not question.strip():
        typer.echo("the question must not be blank", err=True)
        raise typer.Exit(2)
    from finlineage.chat.embeddings import EmbeddingService, get_default_embedder
    from finlineage.chat.llm import LLMClient, LLMConfig
    from finlineage.chat.service import ChatQuery, ChatService
    from finlineage.store import db as store_db

    settings = Settings()
    settings.ensure_dirs()
    url = settings.effective_database_url
    store_db.migrate(url)
    engine = store_db.create_engine_for(url)
    embedder = get_default_embedder() if settings.embeddings_enabled else EmbeddingService(enabled=False)
    llm = LLMClient(LLMConfig.from_settings(settings))
    service = ChatService(settings, store_db.session_factory(engine), embedder=embedder, llm=llm)

    async def run() -> dict[str, Any]:
        try:
            answer = await service.ask(ChatQuery(question, mode=mode, project=project, session_id=session_id))
            return answer.to_dict()
        finally:
            await llm.aclose()

    try:
        result = asyncio.run(run())
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    typer.echo(str(result["response"]))
    sources = result.get("sources") or []
    if isinstance(sources, list) and sources:
        typer.echo("\nSources:")
        for src in sources[:15]:
            where = f" — {src['file']}" if src.get("file") else ""
            lines = src.get("lines")
            if lines:
                where += f":{lines[0]}-{lines[1]}"
            typer.echo(f"  [{src['id']}] {src['label']}{where}")
    for warning in result.get("warnings") or []:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(
        f"\n({result['model']}, {result['query_type']}, {float(result['latency_ms']):.0f} ms)", err=True
    )


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
