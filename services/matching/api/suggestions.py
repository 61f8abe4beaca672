"""/v1/actors/{id}/suggestions: ranked partners with the reasons behind each score."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.matching import scoring, store
from services.matching.api.deps import HolderDep, SessionDep
from services.matching.graph import CooperationGraph
from services.matching.schemas import (
    ActorSummary,
    FeedbackCreate,
    FeedbackRead,
    ReasonRead,
    SuggestionList,
    SuggestionRead,
)
from shared.db import commit
from shared.errors import NotFound, problem_responses

router = APIRouter(prefix="/v1/actors", tags=["suggestions"])


def _summary(graph: CooperationGraph, actor_id: str) -> ActorSummary:
    node = graph.actor(actor_id)
    return ActorSummary(
        id=uuid.UUID(actor_id),
        name=node["name"],
        kind=node["kind"],
        level=node.get("level"),
        country=node["country"],
    )


def _known(graph: CooperationGraph, actor_id: uuid.UUID) -> str:
    key = str(actor_id)
    if not graph.has_actor(key):
        raise NotFound(f"No actor {actor_id} in the graph (unknown, or deleted from the registry).")
    return key


@router.get(
    "/{actor_id}/suggestions",
    response_model=SuggestionList,
    responses=problem_responses(404, 422, 503),
)
def suggestions(
    actor_id: uuid.UUID,
    holder: HolderDep,
    session: SessionDep,
    kind: Annotated[str | None, Query(description="Only candidates of this kind.")] = None,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    theme: Annotated[
        str | None, Query(description="Only candidates working on this theme.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SuggestionList:
    """Who this actor should work with, best first; every score comes with its reasons.

    Existing partners, the actor itself and candidates it dismissed never appear."""
    dismissed = store.dismissed_by(session, actor_id)
    with holder.lock:
        graph = holder.graph
        source = _known(graph, actor_id)
        ranked = scoring.suggest(
            graph,
            source,
            limit=limit,
            kind=kind,
            country=country.upper() if country else None,
            theme=theme,
            exclude=dismissed,
        )
        return SuggestionList(
            actor=_summary(graph, source),
            graph_sequence=holder.applied,
            items=[
                SuggestionRead(
                    actor=_summary(graph, s.actor_id),
                    score=s.score,
                    reasons=[
                        ReasonRead(
                            code=r.code, contribution=r.contribution, text=r.text, details=r.details
                        )
                        for r in s.reasons
                    ],
                )
                for s in ranked
            ],
        )


@router.post(
    "/{actor_id}/suggestions/{candidate_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackRead,
    responses=problem_responses(404, 422, 503),
)
def feedback(
    actor_id: uuid.UUID,
    candidate_id: uuid.UUID,
    body: FeedbackCreate,
    holder: HolderDep,
    session: SessionDep,
) -> FeedbackRead:
    """Accept or dismiss a suggestion; a dismissed candidate leaves this actor's suggestions."""
    with holder.lock:
        _known(holder.graph, actor_id)
        _known(holder.graph, candidate_id)
    saved = store.record_feedback(session, actor_id, candidate_id, body.verdict, body.comment)
    commit(session)
    return FeedbackRead.model_validate(saved)
