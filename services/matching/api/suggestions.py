"""/v1/actors/{id}/suggestions: ranked partners with the reasons behind each score."""

import uuid
from collections.abc import Hashable, Iterable
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from services.matching import scoring, store
from services.matching.answers import AnswerCache
from services.matching.api.deps import AnswersDep, CallerDep, HolderDep, SessionDep, requires
from services.matching.api.present import actor_summary, known_actor
from services.matching.follower import GraphHolder
from services.matching.ranking.features import FeatureSpace
from services.matching.ranking.model import RankingModel
from services.matching.schemas import (
    FeedbackCreate,
    FeedbackRead,
    ModelSummary,
    ReasonRead,
    SuggestionList,
    SuggestionRead,
)
from shared.access import Scope
from shared.db import commit
from shared.errors import Forbidden, InvalidInput, problem_responses
from shared.language import AcceptLanguage, Language, language_headers, preferred_language
from shared.operations.metrics import SUGGESTION_SECONDS
from shared.vocabulary import ActorKind, CountryCode, ThemeCode

router = APIRouter(prefix="/v1/actors", tags=["suggestions"])

# How long a query about an actor newer than the feature space waits for the next one.
_WAIT_FOR_SPACE_SECONDS = 30.0


@router.get(
    "/{actor_id}/suggestions",
    response_model=SuggestionList,
    responses=problem_responses(404, 422, 503),
)
async def suggestions(
    actor_id: uuid.UUID,
    holder: HolderDep,
    session: SessionDep,
    answers: AnswersDep,
    kind: Annotated[ActorKind | None, Query(description="Only candidates of this kind.")] = None,
    country: Annotated[CountryCode | None, Query(description="ISO alpha-2.")] = None,
    theme: Annotated[
        ThemeCode | None, Query(description="Only candidates working on this theme.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Who this actor should work with, best first; every score comes with its reasons.

    Existing partners, the actor itself and candidates it dismissed never appear. The reasons
    are in French when `Accept-Language` prefers it, in English otherwise."""
    dismissed = frozenset(store.dismissed_by(session, actor_id))
    language = preferred_language(accept_language)
    query = (actor_id, kind, country, theme, limit, dismissed, language)
    # A question asked again is answered here, without a worker thread or the graph's lock.
    # The state is read without the lock: its parts only move forward, so when they all equal
    # those of the answers kept, these are answers of the state the graph was in a moment ago.
    answer = answers.get(holder.graph, _state(holder), query)
    if answer is None:
        answer = await run_in_threadpool(
            _ranked,
            holder,
            answers,
            actor_id,
            query,
            limit,
            kind,
            country,
            theme,
            dismissed,
            language,
        )
    return Response(answer, media_type="application/json", headers=language_headers(language))


def _state(holder: GraphHolder) -> Hashable:
    """What an answer is computed from, besides the graph and the question."""
    ranker = holder.ranker
    return (holder.applied, holder.revision, ranker.space_revision, ranker.model.version)


def _ranked(
    holder: GraphHolder,
    answers: AnswerCache,
    actor_id: uuid.UUID,
    query: Hashable,
    limit: int,
    kind: str | None,
    country: str | None,
    theme: str | None,
    dismissed: frozenset[str],
    language: Language,
) -> str:
    """The answer computed under the graph's lock, and kept."""
    for attempt in range(2):
        with holder.lock:
            graph = holder.graph
            source = known_actor(graph, actor_id)
            ranker = holder.ranker
            model = ranker.model
            space = ranker.space(graph, holder.revision, source, lock=holder.lock)
            # An actor newer than the space: wait once for the space being built (outside the
            # lock); if it still does not know the actor, `suggest` builds one of its own.
            if source in space.index or attempt:
                with SUGGESTION_SECONDS.time():
                    answer = _suggestions(
                        holder,
                        source,
                        model,
                        space,
                        limit,
                        kind,
                        country,
                        theme,
                        dismissed,
                        language,
                    ).model_dump_json()
                # Kept only when the space is of the graph as it is: from an older one, the
                # question must come back here, where the newer space is asked for when due.
                if ranker.space_revision == holder.revision:
                    answers.put(graph, _state(holder), query, answer)
                return answer
        ranker.wait_for_build(timeout=_WAIT_FOR_SPACE_SECONDS)
    raise AssertionError("unreachable")  # pragma: no cover


def _suggestions(
    holder: GraphHolder,
    source: str,
    model: RankingModel,
    space: FeatureSpace,
    limit: int,
    kind: str | None,
    country: str | None,
    theme: str | None,
    dismissed: Iterable[str],
    language: Language = "en",
) -> SuggestionList:
    graph = holder.graph
    ranked = scoring.suggest(
        graph,
        source,
        model=model,
        space=space,
        limit=limit,
        kind=kind,
        country=country,
        theme=theme,
        exclude=dismissed,
        language=language,
    )
    return SuggestionList(
        actor=actor_summary(graph, source),
        graph_sequence=holder.applied,
        items=[
            SuggestionRead(
                actor=actor_summary(graph, s.actor_id),
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
        model=ModelSummary(version=model.version, kind=model.kind, intercept=model.intercept),
    )


@router.post(
    "/{actor_id}/suggestions/{candidate_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackRead,
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.feedback)],
)
def feedback(
    actor_id: uuid.UUID,
    candidate_id: uuid.UUID,
    body: FeedbackCreate,
    caller: CallerDep,
    holder: HolderDep,
    session: SessionDep,
) -> FeedbackRead:
    """Accept or dismiss a suggestion; a dismissed candidate leaves this actor's suggestions.
    A key bound to an actor speaks for that actor's suggestions only."""
    if candidate_id == actor_id:
        raise InvalidInput.on(
            "candidate_id", "an actor cannot give feedback on itself as a candidate", "path"
        )
    if caller.actor_id is not None and caller.actor_id != actor_id and not caller.is_admin:
        raise Forbidden(f"This key speaks for actor {caller.actor_id}, not for {actor_id}.")
    with holder.lock:
        known_actor(holder.graph, actor_id)
        known_actor(holder.graph, candidate_id)
    saved = store.record_feedback(
        session, actor_id, candidate_id, body.verdict, body.comment, given_by=caller
    )
    commit(session)
    return FeedbackRead.model_validate(saved)
