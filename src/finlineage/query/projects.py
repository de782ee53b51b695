"""Projects and their repositories (sources): CRUD over the store's repository functions, and
the one project resolver (`resolve_project`) the API, CLI, chat and ingestion use: an id or a
name (exact, else the one equal ignoring case); an unknown name is an error, never a new project,
unless the caller explicitly asks for creation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from finlineage.query.common import PageParams, count
from finlineage.query.errors import ConflictError, InvalidQueryError, NotFoundError, not_found
from finlineage.query.schemas import (
    Page,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    RepositoryCreate,
    RepositoryOut,
)
from finlineage.store import ingest_writes
from finlineage.store import repositories as store
from finlineage.store.models import CatalogObject, File, Project, Repository

CREATE_HINT = "create it first (POST /api/v1/projects, `create_project: true`, or `--create-project`)"


def resolve_project(session: Session, ref: int | str, *, create: bool = False) -> Project:
    """The project ``ref`` (id or name) names; with ``create`` an unknown name creates it (the
    caller flushes/commits). Unknown → NotFoundError (404) naming how to create it."""
    if isinstance(ref, str) and not ref.strip():
        raise InvalidQueryError("a project id or name is required")
    found = ingest_writes.ensure_project(session, ref, create=create)
    if found is None:
        raise NotFoundError(f"project {ref!r} not found; {CREATE_HINT}", details={"project": str(ref)})
    return found


def _repo_count() -> Any:
    return (
        select(func.count())
        .select_from(Repository)
        .where(Repository.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )


def _object_count() -> Any:
    return (
        select(func.count())
        .select_from(CatalogObject)
        .where(CatalogObject.project_id == Project.id)
        .correlate(Project)
        .scalar_subquery()
    )


def _project_select() -> Any:
    return select(Project, _repo_count().label("nrepos"), _object_count().label("nobjs"))


def _project_out(p: Project, nrepos: int | None, nobjs: int | None) -> ProjectOut:
    return ProjectOut(
        id=p.id,
        name=p.name,
        description=p.description,
        created_at=p.created_at,
        repositories=int(nrepos or 0),
        objects=int(nobjs or 0),
    )


def list_projects(session: Session, page: PageParams, *, name: str | None = None) -> Page[ProjectOut]:
    stmt = _project_select()
    if name:
        stmt = stmt.where(func.lower(Project.name).contains(name.lower(), autoescape=True))
    total = count(session, stmt)
    rows = session.execute(stmt.order_by(Project.name, Project.id).limit(page.limit).offset(page.offset))
    return Page[ProjectOut](
        items=[_project_out(p, r, o) for p, r, o in rows], total=total, limit=page.limit, offset=page.offset
    )


def get_project(session: Session, project_id: int) -> ProjectOut:
    row = session.execute(_project_select().where(Project.id == project_id)).one_or_none()
    if row is None:
        raise not_found("project", project_id)
    return _project_out(*row)


def _name_taken(session: Session, name: str, *, except_id: int | None = None) -> bool:
    stmt = select(Project.id).where(func.lower(Project.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Project.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def create_project(session: Session, body: ProjectCreate) -> ProjectOut:
    name = body.name.strip()
    if _name_taken(session, name):
        raise ConflictError(f"a project named {name!r} already exists", details={"name": name})
    try:
        project = store.create_project(session, name, body.description)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"a project named {name!r} already exists", details={"name": name}) from None
    return get_project(session, project.id)


def update_project(session: Session, project_id: int, body: ProjectUpdate) -> ProjectOut:
    if store.get_project(session, project_id) is None:
        raise not_found("project", project_id)
    name = body.name.strip() if body.name is not None else None
    if name is not None and _name_taken(session, name, except_id=project_id):
        raise ConflictError(f"a project named {name!r} already exists", details={"name": name})
    try:
        store.update_project(session, project_id, name=name, description=body.description)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"a project named {name!r} already exists", details={"name": name}) from None
    return get_project(session, project_id)


def delete_project(session: Session, project_id: int) -> None:
    if not store.delete_project(session, project_id):
        session.rollback()
        raise not_found("project", project_id)
    session.commit()


# --------------------------------------------------------------------------------------
# repositories
# --------------------------------------------------------------------------------------


def _file_count() -> Any:
    return (
        select(func.count())
        .select_from(File)
        .where(File.repository_id == Repository.id, File.status == "active")
        .correlate(Repository)
        .scalar_subquery()
    )


def _repository_out(r: Repository, nfiles: int | None) -> RepositoryOut:
    return RepositoryOut(
        id=r.id,
        project_id=r.project_id,
        name=r.name,
        kind=r.kind,
        url=r.url,
        ref=r.ref,
        created_at=r.created_at,
        files=int(nfiles or 0),
        namespace=r.namespace,
    )


def list_repositories(session: Session, project_id: int, page: PageParams) -> Page[RepositoryOut]:
    if store.get_project(session, project_id) is None:
        raise not_found("project", project_id)
    stmt = select(Repository, _file_count().label("nfiles")).where(Repository.project_id == project_id)
    total = count(session, stmt)
    rows = session.execute(
        stmt.order_by(Repository.name, Repository.id).limit(page.limit).offset(page.offset)
    )
    return Page[RepositoryOut](
        items=[_repository_out(r, n) for r, n in rows], total=total, limit=page.limit, offset=page.offset
    )


def get_repository(session: Session, repository_id: int, *, project_id: int | None = None) -> RepositoryOut:
    row = session.execute(
        select(Repository, _file_count().label("nfiles")).where(Repository.id == repository_id)
    ).one_or_none()
    if row is None or (project_id is not None and row[0].project_id != project_id):
        raise not_found("repository", repository_id)
    return _repository_out(*row)


def create_repository(session: Session, project_id: int, body: RepositoryCreate) -> RepositoryOut:
    if store.get_project(session, project_id) is None:
        raise not_found("project", project_id)
    name = body.name.strip()
    conflict = ConflictError(
        f"project {project_id} already has a repository named {name!r}", details={"name": name}
    )
    if store.get_repository_by_name(session, project_id, name) is not None:
        raise conflict
    try:
        repo = store.create_repository(session, project_id, name, body.kind, url=body.url, ref=body.ref)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict from None
    return get_repository(session, repo.id)
