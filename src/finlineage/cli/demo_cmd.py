"""`finlineage demo`: the synthetic corpus generator (`demo generate`)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

__all__ = ["register"]

demo_app = typer.Typer(
    name="demo",
    help="Demo data: generate a synthetic SQL corpus shaped like the bundled demo warehouse.",
    no_args_is_help=True,
)


@demo_app.command("generate")
def generate(
    objects: int = typer.Option(..., "--objects", "-n", min=1, help="Number of objects to CREATE."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created if missing)."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives byte-identical files."),
) -> None:
    """Write a deterministic multi-dialect corpus (raw -> stg -> int -> mart -> rpt) with a finlineage.toml."""
    from rich.console import Console
    from rich.table import Table

    from finlineage.demo.generate import generate_corpus

    started = time.perf_counter()
    stats = generate_corpus(objects, out, seed=seed)
    elapsed = time.perf_counter() - started

    table = Table(title=f"Synthetic corpus in {stats.out_dir}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("files", f"{stats.files:,}")
    for dialect, n in stats.files_by_dialect.items():
        table.add_row(f"  files ({dialect})", f"{n:,}")
    table.add_row("objects", f"{stats.objects:,}")
    for kind, n in stats.objects_by_kind.items():
        table.add_row(f"  {kind}", f"{n:,}")
    table.add_row("statements", f"{stats.statements:,}")
    table.add_row("longest chain (hops)", str(stats.max_depth))
    console = Console()
    console.print(table)
    console.print(f"seed {seed}, generated in {elapsed:.2f}s")


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
