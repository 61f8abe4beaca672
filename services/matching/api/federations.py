"""/v1/federations: federating-project proposals, and their adoption into the registry."""

import uuid
from itertools import islice
from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request, Response, status

from services.matching import store
from services.matching.api.deps import CallerDep, HolderDep, SessionDep, requires
from services.matching.api.overlaps import json_list
from services.matching.api.present import known_actor
from services.matching.registry_client import RegistryClient, RegistryRefused
from services.matching.schemas import Adoption, FederationList, FederationRead
from shared.access import Scope
from shared.errors import Forbidden, NotFound, Problem, problem_responses
from shared.language import AcceptLanguage, Language, language_headers, preferred_language
from shared.themes import get_theme
from shared.unit_of_work import writes_nothing
from shared.vocabulary import CountryCode, ThemeCode

router = APIRouter(prefix="/v1/federations", tags=["federations"])


class RegistryError(Problem):
    status = 502
    slug = "registry-error"
    title = "The registry refused or did not answer"


@router.get("", response_model=FederationList, responses=problem_responses(404, 422, 503))
def list_federations(
    holder: HolderDep,
    session: SessionDep,
    country: Annotated[CountryCode | None, Query(description="ISO alpha-2.")] = None,
    theme: Annotated[ThemeCode | None, Query(description="A theme of the vocabulary.")] = None,
    actor: Annotated[uuid.UUID | None, Query(description="Proposals that include it.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Proposals ranked by how much they reduce the competition index, each explained (in
    French when `Accept-Language` prefers it)."""
    language = preferred_language(accept_language)
    dismissed = store.dismissed_pairs(session)
    # From the read model, without the graph's lock (an actor look-up needs none either).
    overlaps = holder.overlaps
    found = overlaps.proposals(
        country=country,
        theme=theme,
        actor=known_actor(holder.graph, actor) if actor else None,
        dismissed=dismissed,
    )
    listed = json_list(
        [spot.federation_json(proposal, language) for proposal, spot in islice(found, limit)],
        overlaps.sequence,
    )
    listed.headers.update(language_headers(language))
    return listed


def _find(
    holder: HolderDep, session: SessionDep, proposal_id: uuid.UUID, language: Language = "en"
) -> FederationRead:
    found = holder.overlaps.find(str(proposal_id), store.dismissed_pairs(session))
    if found is None:
        raise NotFound(
            f"No federation proposal {proposal_id}: the graph changed since it was made, "
            "list the proposals again."
        )
    proposal, spot = found
    return spot.federation(proposal, language)


@router.get("/{proposal_id}", response_model=FederationRead, responses=problem_responses(404, 503))
def read_federation(
    proposal_id: uuid.UUID,
    holder: HolderDep,
    session: SessionDep,
    response: Response,
    accept_language: AcceptLanguage = None,
) -> FederationRead:
    language = preferred_language(accept_language)
    response.headers.update(language_headers(language))
    return _find(holder, session, proposal_id, language)


@router.post(
    "/{proposal_id}/adopt",
    status_code=status.HTTP_201_CREATED,
    response_model=Adoption,
    responses=problem_responses(404, 502, 503),
    dependencies=[requires(Scope.write)],
)
@writes_nothing  # here: the project is written in the registry, over HTTP
def adopt(
    proposal_id: uuid.UUID,
    request: Request,
    caller: CallerDep,
    holder: HolderDep,
    session: SessionDep,
) -> Adoption:
    """Create the federating project in the registry as a draft, through its public API, with
    the coordinator as lead and everyone else as partners. It flows back through the feed and
    the hotspot's competition index falls accordingly."""
    proposal = _find(holder, session, proposal_id)
    theme = get_theme(proposal.themes[0])
    label = theme.label_fr if theme else proposal.themes[0]
    pooled = [
        *proposal.members,
        *proposal.migrant_organisations,
        *proposal.associations,
    ]
    if not caller.acts_for({proposal.coordinator.id, *(actor.id for actor in pooled)}):
        raise Forbidden(
            "Only a key bound to one of the proposal's actors (or an admin key) may adopt it."
        )
    body = {
        "title": f"Projet fédérateur : {label.lower()} à {proposal.target.name}",
        "lead_id": str(proposal.coordinator.id),
        "partners": [
            {"actor_id": str(a.id), "role": "partner"}
            for a in {a.id: a for a in pooled}.values()
            if a.id != proposal.coordinator.id
        ],
        "target_id": str(proposal.target.id) if proposal.target.id else None,
        "target_country": proposal.target.country,
        "themes": proposal.themes,
        "status": "draft",
        "description": proposal.explanation,
    }
    registry: RegistryClient = request.app.state.registry
    try:
        project = registry.create_project(body, idempotency_key=f"adopt-{uuid.uuid4()}")
    except RegistryRefused as error:
        raise RegistryError(f"The registry answered {error.status}: {error}") from error
    except httpx.HTTPError as error:
        raise RegistryError(f"The registry did not answer: {error}") from error
    return Adoption(proposal=proposal, project=project)
