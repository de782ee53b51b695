"""Engine, sessions and schema migration.

    engine = create_engine_for(settings.effective_database_url)
    migrate(settings.effective_database_url)          # alembic upgrade head, idempotent
    Session = session_factory(engine)
    with Session.begin() as session: ...

SQLite connections get WAL, foreign keys, a 5 s busy timeout and synchronous=NORMAL on every
connect. PostgreSQL engines get a pre-pinged, recycled connection pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from finlineage.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` / ``postgres://`` → psycopg 3 driver; everything else untouched."""
    u = make_url(url) if isinstance(url, str) else url
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def is_sqlite(url_or_engine: str | URL | Engine) -> bool:
    if isinstance(url_or_engine, Engine):
        return url_or_engine.dialect.name == "sqlite"
    return normalize_url(url_or_engine).get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    assert isinstance(dbapi_conn, sqlite3.Connection)
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    finally:
        cur.close()


def create_engine_for(url: str | URL, *, echo: bool = False, **kwargs: Any) -> Engine:
    """An engine configured for the backend of ``url`` (SQLite file/memory or PostgreSQL)."""
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:" and not u.database.startswith("file:"):
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("check_same_thread", False)
        connect_args.setdefault("timeout", 5.0)
        engine = create_engine(u, echo=echo, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_timeout", 30)
    return create_engine(u, echo=echo, **kwargs)


def engine_from_settings(settings: Settings, **kwargs: Any) -> Engine:
    return create_engine_for(settings.effective_database_url, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes usable after commit (``expire_on_commit=False``)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on error, always close."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(url: str | URL) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    rendered = normalize_url(url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


# Any constant works; it only has to be the same in every process that migrates this database.
_PG_MIGRATION_LOCK_KEY = 0x46494E4C  # "FINL"


@contextmanager
def migration_lock(url: str | URL) -> Iterator[None]:
    """Serialise migrations across processes (several workers or instances starting at once):
    a PostgreSQL advisory lock, or an exclusive lock on a file beside the SQLite database."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            yield
            return
        import fcntl

        lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def migrate(url: str | URL, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` programmatically (no alembic.ini needed); safe to call
    from several processes at once."""
    from alembic import command

    with migration_lock(url):
        command.upgrade(_alembic_config(url), revision)


def downgrade(url: str | URL, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def current_revision(url: str | URL) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
