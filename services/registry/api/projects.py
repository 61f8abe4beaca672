"""/v1/projects: concrete actions led by one actor with partners."""

import uuid

from fastapi import APIRouter, Request, Response, status

from services.registry import projects
from services.registry.api.deps import IfMatch, PageQuery, SessionDep, requires
from services.registry.api.filters import ProjectQuery
from services.registry.api.responses import stored_page, stored_resource, written
from services.registry.models import Project
from services.registry.schemas import ProjectCreate, ProjectRead, ProjectUpdate
from shared.access import Scope
from shared.db import commit
from shared.errors import problem_responses
from shared.pagination import Page
from shared.unit_of_work import write_route

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.get("", response_model=Page[ProjectRead], responses=problem_responses(422))
async def list_projects(
    request: Request,
    session: SessionDep,
    page: PageQuery,
    filters: ProjectQuery,
) -> Response:
    """List live projects. `?actor=A&actor=B`: projects in which A and B both take part."""
    listing = projects.project_listing(filters.funded, filters.convention_id, filters.lead_id)
    return await stored_page(request, session, listing, ProjectRead, page)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectRead,
    responses=problem_responses(400, 409, 422),
    dependencies=[requires(Scope.write, Scope.propose)],
)
@write_route
def create_project(body: ProjectCreate, session: SessionDep) -> Response:
    """Record a project led by a registered actor, with its partners."""
    project = projects.create_project(session, body)
    commit(session)
    return written(project, created=f"/v1/projects/{project.id}")


@router.get("/{project_id}", response_model=ProjectRead, responses=problem_responses(404, 410))
async def read_project(project_id: uuid.UUID, session: SessionDep) -> Response:
    return await stored_resource(session, Project, ProjectRead, project_id)


@router.patch(
    "/{project_id}",
    response_model=ProjectRead,
    responses=problem_responses(400, 404, 409, 410, 412, 422),
    dependencies=[requires(Scope.write)],
)
@write_route
def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    """Change the fields sent; send the ETag you read as If-Match to avoid lost updates."""
    project = projects.update_project(session, project_id, body, if_match=if_match)
    commit(session)
    return written(project)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 410, 412),
    dependencies=[requires(Scope.write)],
)
@write_route
def delete_project(
    project_id: uuid.UUID, session: SessionDep, if_match: IfMatch = None
) -> Response:
    """Soft-delete: the project leaves listings; its tombstone stays."""
    projects.delete_project(session, project_id, if_match=if_match)
    commit(session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
