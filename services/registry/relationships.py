"""Relationships: typed ties between actors that are not conventions."""

import uuid

from sqlmodel import Session, col, or_, select

from services.registry.bulk import bulk_of
from services.registry.listings import Conditions, Listing
from services.registry.models import ActorRelationship
from services.registry.outbox import record_change
from services.registry.permissions import check_acts_for
from services.registry.resources import (
    add_new,
    check_if_match,
    check_period,
    flush_or_recheck,
    get_live,
    live_actors,
    paginate,
    raise_if_invalid,
    refuse_cleared,
    soft_delete,
    touch,
)
from services.registry.schemas import RelationshipCreate, RelationshipUpdate
from services.registry.vocabulary import ActorKind, RelationshipKind
from shared.db import new_row
from shared.errors import Conflict, FieldError

__all__ = [
    "create_relationship",
    "delete_relationship",
    "list_relationships",
    "relationship_listing",
    "update_relationship",
]

_FIELDS = ("kind", "subject_id", "object_id", "starts_on", "ends_on", "description")
_GROUPS = {ActorKind.network, ActorKind.resource_centre}


def create_relationship(session: Session, data: RelationshipCreate) -> ActorRelationship:
    relationship = new_row(
        ActorRelationship, kind=data.kind, subject_id=data.subject_id, object_id=data.object_id
    )
    _apply(relationship, data, data.model_fields_set)
    check_acts_for(session, _ends(relationship), "one end of this relationship")
    _check(session, relationship)
    add_new(session, relationship, lambda: _refuse_existing(session, relationship))
    record_change(session, relationship, "created")
    return relationship


def update_relationship(
    session: Session, relationship_id: uuid.UUID, data: RelationshipUpdate, *, if_match: str | None
) -> ActorRelationship:
    relationship = get_live(session, ActorRelationship, relationship_id, lock=True)
    check_acts_for(session, _ends(relationship), "one end of this relationship")
    check_if_match(relationship, if_match)
    refuse_cleared(data, ("kind", "subject_id", "object_id"))
    _apply(relationship, data, data.model_fields_set)
    check_acts_for(session, _ends(relationship), "one end of the relationship as changed")
    _check(session, relationship)
    touch(relationship)
    flush_or_recheck(session, lambda: _refuse_existing(session, relationship))
    record_change(session, relationship, "updated")
    return relationship


def delete_relationship(
    session: Session, relationship_id: uuid.UUID, *, if_match: str | None
) -> ActorRelationship:
    relationship = get_live(session, ActorRelationship, relationship_id, lock=True)
    check_acts_for(session, _ends(relationship), "one end of this relationship")
    check_if_match(relationship, if_match)
    soft_delete(relationship)
    record_change(session, relationship, "deleted")
    return relationship


def list_relationships(
    session: Session,
    *,
    kinds: list[RelationshipKind],
    subject_id: uuid.UUID | None,
    object_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ActorRelationship], str | None]:
    """A page of live relationships; `actor_id` matches either side."""
    statement = relationship_listing(kinds, subject_id, object_id, actor_id)
    return paginate(session, statement, cursor, limit)


def relationship_listing(
    kinds: list[RelationshipKind],
    subject_id: uuid.UUID | None,
    object_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
) -> Listing[ActorRelationship]:
    """The relationships matching the filters, to page through (live ones: `paginate`)."""
    conditions = Conditions()
    conditions.any_of("kind", kinds, lambda match: match(col(ActorRelationship.kind)))
    conditions.equal("subject_id", subject_id, lambda value: ActorRelationship.subject_id == value)
    conditions.equal("object_id", object_id, lambda value: ActorRelationship.object_id == value)
    conditions.equal(
        "actor_id",
        actor_id,
        lambda value: or_(
            ActorRelationship.subject_id == value, ActorRelationship.object_id == value
        ),
    )
    return conditions.listing(ActorRelationship)


def _apply(
    relationship: ActorRelationship,
    data: RelationshipCreate | RelationshipUpdate,
    fields: set[str],
) -> None:
    for name in _FIELDS:
        if name in fields:
            setattr(relationship, name, getattr(data, name))


def _check(session: Session, relationship: ActorRelationship) -> None:
    errors: list[FieldError] = []
    subject = live_actors(session, [relationship.subject_id], "subject_id", errors)
    found = live_actors(session, [relationship.object_id], "object_id", errors)
    target = found.get(relationship.object_id)
    if relationship.subject_id == relationship.object_id:
        errors.append(FieldError(field="object_id", reason="an actor has no tie with itself"))
    if (
        relationship.kind == RelationshipKind.member_of
        and target is not None
        and target.kind not in _GROUPS
    ):
        errors.append(
            FieldError(
                field="object_id",
                reason=f"one is a member of a network or resource centre; "
                f"{target.name} is a {target.kind}",
            )
        )
    check_period(relationship.starts_on, relationship.ends_on, errors)
    raise_if_invalid(errors)
    if subject:
        _refuse_existing(session, relationship)


def _refuse_existing(session: Session, relationship: ActorRelationship) -> None:
    bulk = bulk_of(session)
    existing_id: uuid.UUID | None
    if bulk is not None:
        key = (relationship.kind, relationship.subject_id, relationship.object_id)
        existing_id = bulk.relationships.get(key)
    else:
        existing_id = session.exec(
            select(ActorRelationship.id).where(
                ActorRelationship.kind == relationship.kind,
                ActorRelationship.subject_id == relationship.subject_id,
                ActorRelationship.object_id == relationship.object_id,
                col(ActorRelationship.deleted_at).is_(None),
            )
        ).first()
    if existing_id is not None and existing_id != relationship.id:
        raise Conflict(
            f"This {relationship.kind} tie already exists ({existing_id}).",
            existing={"id": str(existing_id)},
        )


def _ends(relationship: ActorRelationship) -> set[uuid.UUID]:
    return {relationship.subject_id, relationship.object_id}
