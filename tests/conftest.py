"""Shared fixtures.

Database backends
-----------------
``database_url`` is parametrized over ``sqlite`` and ``postgres`` so every test that uses it
(or ``engine`` / ``session_factory`` / ``session`` built on it) runs on both. Each test gets a
fresh, fully migrated database:

* sqlite: a copy of a migrated template file in ``tmp_path``;
* postgres: ``CREATE DATABASE ... TEMPLATE finlineage_template`` on one session-scoped
  embedded PostgreSQL 18 server (``pg_server``) listening on 127.0.0.1. If the server cannot
  start, the postgres tests FAIL (they are never skipped).

``FINLINEAGE_TEST_BACKENDS=sqlite`` (comma-separated) restricts the backends for quick local
runs; the default is both. Postgres params carry ``pytest.mark.postgres`` (``-m "not postgres"``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from finlineage.store import db as store_db
from finlineage.store.embedded_pg import EmbeddedPostgres

# Starlette's TestClient sends `Host: testserver`; servers built in-process by tests accept it.
# Subprocess servers get a clean environment (their own defaults, no `testserver`).
os.environ.setdefault("FINLINEAGE_ALLOWED_HOSTS", "localhost,127.0.0.1,::1,testserver")

# ---------------------------------------------------------------------------------------
# backend selection
# ---------------------------------------------------------------------------------------

ALL_BACKENDS = ("sqlite", "postgres")
_selected = [
    b.strip()
    for b in os.environ.get("FINLINEAGE_TEST_BACKENDS", ",".join(ALL_BACKENDS)).split(",")
    if b.strip()
]
_unknown = set(_selected) - set(ALL_BACKENDS)
if _unknown:
    raise pytest.UsageError(f"FINLINEAGE_TEST_BACKENDS: unknown backend(s) {sorted(_unknown)}")
BACKEND_PARAMS = [
    pytest.param(b, id=b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in _selected
]

PG_TEMPLATE_DB = "finlineage_template"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect non-parametrized ``@pytest.mark.postgres`` tests when postgres is not selected."""
    if "postgres" in _selected:
        return
    keep = [i for i in items if i.get_closest_marker("postgres") is None]
    dropped = [i for i in items if i.get_closest_marker("postgres") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# ---------------------------------------------------------------------------------------
# embedded PostgreSQL (session scoped, started lazily by the first postgres test)
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """One embedded PostgreSQL server on 127.0.0.1 for the whole session. Raises (so the
    tests using it error) if it cannot start."""
    # Not under pytest's basetemp: pytest resets /tmp/pytest-of-<user> to 0700, which would
    # lock out the unprivileged server user when running as root.
    server = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="finlineage-test-pg-")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_admin(pg_server: EmbeddedPostgres) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Autocommit connection to the ``postgres`` maintenance database (CREATE/DROP DATABASE)."""
    conn = psycopg.connect(
        f"host=127.0.0.1 port={pg_server.port} user=postgres dbname=postgres", autocommit=True
    )
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_template(pg_server: EmbeddedPostgres, pg_admin: psycopg.Connection[tuple[object, ...]]) -> str:
    """Name of a migrated template database that per-test databases are cloned from."""
    pg_admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE_DB}"')
    pg_admin.execute(f'CREATE DATABASE "{PG_TEMPLATE_DB}"')
    store_db.migrate(pg_server.url(PG_TEMPLATE_DB))
    return PG_TEMPLATE_DB


@pytest.fixture
def pg_database(
    pg_server: EmbeddedPostgres, pg_admin: psycopg.Connection[tuple[object, ...]], pg_template: str
) -> Iterator[str]:
    """URL of a fresh migrated PostgreSQL database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield pg_server.url(name)
    finally:
        pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_empty_database(
    pg_server: EmbeddedPostgres, pg_admin: psycopg.Connection[tuple[object, ...]]
) -> Iterator[str]:
    """URL of a fresh, empty (unmigrated) PostgreSQL database."""
    name = f"e_{uuid.uuid4().hex[:16]}"
    pg_admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server.url(name)
    finally:
        pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    store_db.migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "finlineage.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


# ---------------------------------------------------------------------------------------
# backend-parametrized store fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database on each selected backend."""
    fixture = "sqlite_database" if backend == "sqlite" else "pg_database"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = store_db.create_engine_for(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return store_db.session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on a fresh database; rolled back and closed after the test."""
    with session_factory() as s:
        try:
            yield s
        finally:
            s.rollback()
