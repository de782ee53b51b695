"""The `finlineage` command. Each concern registers its own sub-commands from its module."""

from __future__ import annotations

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


def _register_commands() -> None:
    # Imported here so `finlineage version` stays fast and each module owns its commands.
    from finlineage.cli import commands

    for register in commands.REGISTRARS:
        register(app)


_register_commands()
