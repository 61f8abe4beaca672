"""Suggestion feedback: stored in the matching database, read back as the dismissed set."""

import uuid

from sqlmodel import Session, select

from services.matching.models import Feedback
from shared.access import Principal

__all__ = ["dismissed_by", "dismissed_pairs", "record_feedback"]


def record_feedback(
    session: Session,
    actor_id: uuid.UUID,
    candidate_id: uuid.UUID,
    verdict: str,
    comment: str | None,
    given_by: Principal,
) -> Feedback:
    feedback = Feedback(
        actor_id=actor_id,
        candidate_id=candidate_id,
        verdict=verdict,
        comment=comment,
        key_id=given_by.key_id,
        key_name=given_by.name,
    )
    session.add(feedback)
    session.flush()
    return feedback


_FEEDBACK = Feedback.__table__  # type: ignore[attr-defined]
# Three columns from the table, not ORM objects: every suggestion request reads its source's
# feedback, even one answered from the cache, and the ORM's part was most of that read.
_VERDICTS = select(_FEEDBACK.c.actor_id, _FEEDBACK.c.candidate_id, _FEEDBACK.c.verdict).order_by(
    _FEEDBACK.c.created_at
)


def _latest(session: Session, actor_id: uuid.UUID | None = None) -> dict[tuple[str, str], str]:
    statement = _VERDICTS
    if actor_id is not None:
        statement = statement.where(_FEEDBACK.c.actor_id == actor_id)
    rows = session.connection().execute(statement)
    return {(str(actor), str(candidate)): verdict for actor, candidate, verdict in rows}


def dismissed_by(session: Session, actor_id: uuid.UUID) -> set[str]:
    """Candidates this actor dismissed (and did not accept since)."""
    latest = _latest(session, actor_id)
    return {candidate for (_, candidate), verdict in latest.items() if verdict == "dismissed"}


def dismissed_pairs(session: Session) -> set[frozenset[str]]:
    """Every pair of actors one of which dismissed the other."""
    return {frozenset(pair) for pair, verdict in _latest(session).items() if verdict == "dismissed"}
