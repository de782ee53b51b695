"""The `finlineage` command. Each concern registers its own sub-commands from its module."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from finlineage import __version__

app = typer.Typer(
    name="finlineage",
    help="Column-level data lineage for financial SQL.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """finlineage: lineage graph, API server and tools."""


@app.command()
def version() -> None:
    """Print the finlineage version."""
    typer.echo(__version__)


def _register_commands(argv: list[str]) -> None:
    # Imported here so `finlineage version` stays fast and each module owns its commands.
    if len(argv) > 1 and argv[1] == "parse" and Path(argv[0]).name == "finlineage":
        # `finlineage parse [--batch]` is started per scoring/ingest worker: register only it
        # (other command modules import settings/pydantic, rich or asyncio at import time)
        from finlineage.cli import parse_cmd

        parse_cmd.register(app)
        return
    from finlineage.cli import commands

    for register in commands.REGISTRARS:
        register(app)


_register_commands(sys.argv)
