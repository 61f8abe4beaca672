"""/v1/exports/iati-activities.xml: projects as IATI activities, for aid transparency.

Open data like the listings, with the projects listing's filters. The whole file is streamed
page by page through the request's own session: FastAPI 0.165 exits `yield` dependencies of
the default scope only after the response is sent (`fastapi.routing.request_response` awaits
it inside the request's exit stack), so the session is open until the last chunk.
"""

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Response
from sqlmodel import Session, col, select
from starlette.responses import StreamingResponse

from services.registry import projects
from services.registry.api.deps import SessionDep, SettingsDep
from services.registry.api.filters import ProjectQuery
from services.registry.exports import iati
from services.registry.exports.pages import pages
from services.registry.models import Actor, Project
from services.registry.resources import get_live
from services.registry.settings import RegistrySettings
from shared.db import utcnow
from shared.errors import NotFound, problem_responses

router = APIRouter(prefix="/v1/exports", tags=["exports"])

_XML = "application/xml"


class IatiFileResponse(StreamingResponse):
    media_type = _XML


class IatiActivityResponse(Response):
    media_type = _XML


def _described(text: str) -> dict[str, Any]:
    return {"description": text, "content": {_XML: {"schema": {"type": "string"}}}}


def _reporter(settings: RegistrySettings) -> iati.Reporter:
    return iati.Reporter(
        ref=settings.iati_reporting_org_ref,
        name=settings.iati_reporting_org_name,
        type=settings.iati_reporting_org_type,
    )


def _organisations(session: Session, ids: set[uuid.UUID]) -> Mapping[uuid.UUID, iati.Organisation]:
    """The actors taking part, deleted ones too (an ended project keeps its partners)."""
    columns = (Actor.id, Actor.name, Actor.kind, Actor.level, Actor.country, Actor.iati_id)
    rows = session.exec(select(*columns).where(col(Actor.id).in_(ids))) if ids else []
    return {row[0]: iati.Organisation(*row[1:]) for row in rows}


@router.get(
    "/iati-activities.xml",
    response_class=IatiFileResponse,
    responses={
        **problem_responses(404, 422),
        200: _described(
            "An IATI 2.03 `iati-activities` file, one `iati-activity` per project of "
            "`GET /v1/projects` with the same filters; a project without any date is left out "
            "with an XML comment saying so."
        ),
    },
)
def export_iati_activities(
    session: SessionDep, settings: SettingsDep, filters: ProjectQuery
) -> IatiFileResponse:
    """The projects of `GET /v1/projects`, with the same filters, as IATI activity XML.

    A 404 problem when no project matches: an IATI file holds at least one activity.
    """
    entries = iati.entries(
        pages(
            lambda cursor, limit: projects.list_projects(
                session,
                filters.funded,
                filters.convention_id,
                filters.lead_id,
                cursor=cursor,
                limit=limit,
            )
        ),
        lambda ids: _organisations(session, ids),
        _reporter(settings),
    )
    started = iati.first_activity(entries)
    if started is None:
        raise NotFound("No project matching these filters can be exported as an IATI activity.")
    return IatiFileResponse(
        iati.document_chunks(started, utcnow()),
        headers={"Content-Disposition": 'attachment; filename="iati-activities.xml"'},
    )


@router.get(
    "/iati-activities/{project_id}.xml",
    response_class=IatiActivityResponse,
    responses={
        **problem_responses(404, 409, 410),
        200: _described("An IATI 2.03 `iati-activities` file holding this project alone."),
    },
)
def export_iati_activity(
    project_id: uuid.UUID, session: SessionDep, settings: SettingsDep
) -> IatiActivityResponse:
    """One project as IATI activity XML; a 409 problem if it lacks what IATI requires."""
    project: Project = get_live(session, Project, project_id)
    reason = iati.missing(project)
    if reason is not None:
        raise iati.NotExportable(f"The project {project_id} cannot be an IATI activity: {reason}.")
    organisations = _organisations(session, set(iati.taking_part(project)))
    item = iati.activity(project, organisations, _reporter(settings))
    return IatiActivityResponse(iati.document([item], utcnow()))
