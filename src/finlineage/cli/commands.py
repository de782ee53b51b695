"""The list of sub-command modules; each exposes `register(app: typer.Typer) -> None`."""

from __future__ import annotations

from collections.abc import Callable

import typer

from finlineage.cli import (
    ask_cmd,
    demo_cmd,
    diff_cmd,
    export_cmd,
    ingest_cmd,
    keys_cmd,
    mcp_cmd,
    parse_cmd,
    serve_cmd,
    worker_cmd,
)

REGISTRARS: list[Callable[[typer.Typer], None]] = [
    serve_cmd.register,
    keys_cmd.register,
    parse_cmd.register,
    ask_cmd.register,
    mcp_cmd.register,
    demo_cmd.register,
    ingest_cmd.register,
    worker_cmd.register,
    export_cmd.register,  # export (OpenLineage, GraphML, ...) and repository namespaces
    diff_cmd.register,  # diff (two versions of a project) and diff-git (two refs of a local repo)
]
