"""`finlineage keys create|list|revoke`: manage API keys (stored hashed, shown once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from finlineage.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
ROLES = ("viewer", "editor", "admin")


def _sessions() -> sessionmaker[Session]:
    # Imported lazily so `finlineage parse` never pays for the store.
    from finlineage.store import db as store_db

    settings = Settings()
    settings.ensure_dirs()
    url = settings.effective_database_url
    store_db.migrate(url)
    return store_db.session_factory(store_db.create_engine_for(url))


@keys_app.command("create")
def create(
    name: str = typer.Option(..., help="A name for the key's holder, e.g. ops."),
    role: str = typer.Option("viewer", help="viewer, editor or admin."),
) -> None:
    """Create a key and print it once."""
    if role not in ROLES:
        typer.echo(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    from finlineage.store import repositories as repo

    with _sessions()() as session:
        if repo.get_api_key_by_name(session, name) is not None:
            typer.echo(f"a key named {name!r} already exists; revoke it or pick another name", err=True)
            raise typer.Exit(2)
        record, plaintext = repo.create_api_key(session, name=name, role=role)
        session.commit()
    typer.echo(plaintext)
    typer.echo(f"created key {record.prefix}… for {name} ({role}); it is shown only once", err=True)


@keys_app.command("list")
def list_keys() -> None:
    """List keys (never their secret)."""
    table = Table("id", "name", "role", "prefix", "created", "last used", "revoked")
    from finlineage.store import repositories as repo

    with _sessions()() as session:
        keys = repo.list_api_keys(session, include_revoked=True)
    for key in keys:
        table.add_row(
            str(key.id),
            key.name,
            key.role,
            key.prefix,
            str(key.created_at),
            str(key.last_used_at or ""),
            "yes" if key.revoked else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="The key's id from `keys list`.")) -> None:
    """Revoke a key."""
    from finlineage.store import repositories as repo

    with _sessions()() as session:
        done = repo.revoke_api_key(session, key_id)
        session.commit()
    if not done:
        typer.echo(f"no key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked key {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
