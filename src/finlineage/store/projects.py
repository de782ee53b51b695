"""Projects and their repositories (sources of SQL files).

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    delete,
    select,
    text,
)
from sqlalchemy.orm import Session

from finlineage.store.bulk import _rowcount, is_sqlite
from finlineage.store.edges import delete_facts_by_file
from finlineage.store.models import (
    File,
    Project,
    Repository,
)


def create_project(session: Session, name: str, description: str | None = None) -> Project:
    project = Project(name=name, description=description)
    session.add(project)
    session.flush()
    return project


def get_project(session: Session, project_id: int) -> Project | None:
    return session.get(Project, project_id)


def get_project_by_name(session: Session, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def get_or_create_project(session: Session, name: str, description: str | None = None) -> Project:
    return get_project_by_name(session, name) or create_project(session, name, description)


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.name)))


def update_project(
    session: Session, project_id: int, *, name: str | None = None, description: str | None = None
) -> Project | None:
    project = session.get(Project, project_id)
    if project is None:
        return None
    if name is not None:
        project.name = name
    if description is not None:
        project.description = description
    session.flush()
    return project


def delete_project(session: Session, project_id: int) -> bool:
    """Delete a project and (by cascade) everything in it."""
    if is_sqlite(session):
        session.execute(text("DELETE FROM search_index WHERE project_id = :p"), {"p": project_id})
    result = session.execute(delete(Project).where(Project.id == project_id))
    session.expire_all()
    return _rowcount(result) > 0


def create_repository(
    session: Session,
    project_id: int,
    name: str,
    kind: str = "upload",
    *,
    url: str | None = None,
    ref: str | None = None,
) -> Repository:
    repo = Repository(project_id=project_id, name=name, kind=kind, url=url, ref=ref)
    session.add(repo)
    session.flush()
    return repo


def get_repository(session: Session, repository_id: int) -> Repository | None:
    return session.get(Repository, repository_id)


def get_repository_by_name(session: Session, project_id: int, name: str) -> Repository | None:
    return session.scalar(
        select(Repository).where(Repository.project_id == project_id, Repository.name == name)
    )


def get_or_create_repository(
    session: Session,
    project_id: int,
    name: str,
    kind: str = "upload",
    *,
    url: str | None = None,
    ref: str | None = None,
) -> Repository:
    existing = get_repository_by_name(session, project_id, name)
    if existing is not None:
        return existing
    return create_repository(session, project_id, name, kind, url=url, ref=ref)


def list_repositories(session: Session, project_id: int) -> list[Repository]:
    return list(
        session.scalars(
            select(Repository).where(Repository.project_id == project_id).order_by(Repository.name)
        )
    )


def delete_repository(session: Session, repository_id: int) -> bool:
    """Delete a source, its files and (by cascade) every edge/chunk those files produced."""
    file_ids = list(session.scalars(select(File.id).where(File.repository_id == repository_id)))
    for fid in file_ids:
        delete_facts_by_file(session, fid)
    result = session.execute(delete(Repository).where(Repository.id == repository_id))
    session.expire_all()
    return _rowcount(result) > 0
