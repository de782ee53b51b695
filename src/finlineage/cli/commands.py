"""The list of sub-command modules; each exposes `register(app: typer.Typer) -> None`."""

from __future__ import annotations

from collections.abc import Callable

import typer

REGISTRARS: list[Callable[[typer.Typer], None]] = []
