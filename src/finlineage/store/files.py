"""Source file versions of a repository.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.orm import Session

from finlineage.store.models import (
    File,
    Repository,
)

FileChange = Literal["new", "changed", "unchanged"]


def latest_file(session: Session, repository_id: int, path: str) -> File | None:
    """The newest version of ``path`` in a source (any status)."""
    return session.scalar(
        select(File)
        .where(File.repository_id == repository_id, File.path == path)
        .order_by(File.version.desc())
        .limit(1)
    )


def get_file(session: Session, file_id: int) -> File | None:
    return session.get(File, file_id)


def find_file_by_sha(session: Session, repository_id: int, sha256: str) -> File | None:
    """An active file with this content anywhere in the source (duplicate detection)."""
    return session.scalar(
        select(File)
        .where(File.repository_id == repository_id, File.sha256 == sha256, File.status == "active")
        .limit(1)
    )


def record_file(
    session: Session,
    repository_id: int,
    path: str,
    sha256: str,
    *,
    size: int = 0,
    dialect: str | None = None,
    run_id: int | None = None,
) -> tuple[File, FileChange]:
    """Register a file version. Same content as the latest version → ``unchanged`` (latest is
    returned). Otherwise a new row with ``version+1`` is created and the previous version is
    superseded (``changed``), or version 1 is created (``new``). The caller then calls
    :func:`delete_facts_by_file` on the previous version (if changed) before inserting facts."""
    prev = latest_file(session, repository_id, path)
    if prev is not None and prev.sha256 == sha256 and prev.status != "superseded":
        return prev, "unchanged"
    new = File(
        repository_id=repository_id,
        path=path,
        sha256=sha256,
        size=size,
        dialect=dialect,
        run_id=run_id,
        version=(prev.version + 1) if prev is not None else 1,
    )
    session.add(new)
    session.flush()
    if prev is not None:
        supersede_file(session, prev.id, new.id)
        return new, "changed"
    return new, "new"


def supersede_file(session: Session, old_file_id: int, new_file_id: int | None) -> None:
    session.execute(
        update(File).where(File.id == old_file_id).values(status="superseded", superseded_by=new_file_id)
    )
    session.expire_all()


def set_file_error(session: Session, file_id: int, error: str) -> None:
    session.execute(update(File).where(File.id == file_id).values(status="error", error=error))
    session.expire_all()


def list_files(
    session: Session, repository_id: int, *, active_only: bool = True, limit: int | None = None
) -> list[File]:
    stmt = select(File).where(File.repository_id == repository_id).order_by(File.path, File.version)
    if active_only:
        stmt = stmt.where(File.status == "active")
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def list_project_files(session: Session, project_id: int, *, active_only: bool = True) -> list[File]:
    stmt = (
        select(File)
        .join(Repository, Repository.id == File.repository_id)
        .where(Repository.project_id == project_id)
        .order_by(File.path, File.version)
    )
    if active_only:
        stmt = stmt.where(File.status == "active")
    return list(session.scalars(stmt))
