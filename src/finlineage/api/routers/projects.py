"""Projects and their repositories: `/api/v1/projects` CRUD (+ `/{id}/repositories`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from finlineage.api.auth import editor, viewer
from finlineage.api.context import get_session
from finlineage.api.params import page_params
from finlineage.query import projects as q
from finlineage.query.common import PageParams
from finlineage.query.schemas import (
    Page,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    RepositoryCreate,
    RepositoryOut,
)

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])

ProjectId = Path(ge=1, description="Project id")


@router.get("", response_model=Page[ProjectOut], summary="List projects", dependencies=[viewer])
def list_projects(
    page: PageParams = Depends(page_params),
    name: str | None = Query(None, max_length=200, description="Case-insensitive substring of the name"),
    session: Session = Depends(get_session),
) -> Page[ProjectOut]:
    return q.list_projects(session, page, name=name)


@router.post(
    "",
    response_model=ProjectOut,
    status_code=201,
    summary="Create a project (409 if the name is taken)",
    dependencies=[editor],
)
def create_project(body: ProjectCreate, session: Session = Depends(get_session)) -> ProjectOut:
    return q.create_project(session, body)


@router.get("/{project_id}", response_model=ProjectOut, summary="One project", dependencies=[viewer])
def get_project(project_id: int = ProjectId, session: Session = Depends(get_session)) -> ProjectOut:
    return q.get_project(session, project_id)


@router.patch(
    "/{project_id}", response_model=ProjectOut, summary="Rename / describe a project", dependencies=[editor]
)
def update_project(
    body: ProjectUpdate, project_id: int = ProjectId, session: Session = Depends(get_session)
) -> ProjectOut:
    return q.update_project(session, project_id, body)


@router.delete(
    "/{project_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a project and everything in it (repositories, files, objects, edges)",
    dependencies=[editor],
)
def delete_project(project_id: int = ProjectId, session: Session = Depends(get_session)) -> Response:
    q.delete_project(session, project_id)
    return Response(status_code=204)


@router.get(
    "/{project_id}/repositories",
    response_model=Page[RepositoryOut],
    summary="Repositories (sources) of a project",
    dependencies=[viewer],
)
def list_repositories(
    project_id: int = ProjectId,
    page: PageParams = Depends(page_params),
    session: Session = Depends(get_session),
) -> Page[RepositoryOut]:
    return q.list_repositories(session, project_id, page)


@router.post(
    "/{project_id}/repositories",
    response_model=RepositoryOut,
    status_code=201,
    summary="Add a repository to a project (409 if the name is taken in the project)",
    dependencies=[editor],
)
def create_repository(
    body: RepositoryCreate, project_id: int = ProjectId, session: Session = Depends(get_session)
) -> RepositoryOut:
    return q.create_repository(session, project_id, body)
