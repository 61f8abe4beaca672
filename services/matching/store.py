"""Suggestion feedback: stored in the matching database, read back as the dismissed set."""

import uuid

from sqlmodel import Session, col, select

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


def _latest(session: Session, actor_id: uuid.UUID | None = None) -> dict[tuple[str, str], str]:
    statement = select(Feedback).order_by(col(Feedback.created_at))
    if actor_id is not None:
        statement = statement.where(Feedback.actor_id == actor_id)
    return {(str(f.actor_id), str(f.candidate_id)): f.verdict for f in session.exec(statement)}


def dismissed_by(session: Session, actor_id: uuid.UUID) -> set[str]:
    """Candidates this actor dismissed (and did not accept since)."""
    latest = _latest(session, actor_id)
    return {candidate for (_, candidate), verdict in latest.items() if verdict == "dismissed"}


def dismissed_pairs(session: Session) -> set[frozenset[str]]:
    """Every pair of actors one of which dismissed the other."""
    return {frozenset(pair) for pair, verdict in _latest(session).items() if verdict == "dismissed"}
