"""What a bulk unit of work (an import) knows in memory, so the domain rules run without a query
per row and see the rows added earlier in the same unit of work before they are flushed.

The domain functions (`create_actor`, `create_convention`, …) are the one definition of the
rules, for a single request as for 10,000 rows; when a session carries a `BulkIndex`
(`session.info["bulk"]`) they ask it instead of the database whether an actor exists and is
live, whether an identifier or a relationship is taken, whether a convention exists, and the
outbox defers its writes to one flush per batch (`outbox.flush_events`). The index is loaded once
from the database and kept current by the import as it writes.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from services.registry.models import Actor, ActorRelationship, Convention, Project

__all__ = ["CASE_FREE_IDENTIFIERS", "BulkIndex", "KnownActor", "bulk_of", "identifier_keys"]

IDENTIFIERS = ("insee_code", "siren", "rna", "wikidata_qid", "iati_id")
# Schemes that compare identifiers regardless of case (IATI identifiers, RNA numbers).
CASE_FREE_IDENTIFIERS = frozenset({"iati_id", "rna"})


@dataclass(frozen=True)
class KnownActor:
    """What the rules need of an actor they refer to (a party, a target, a territory)."""

    id: uuid.UUID
    kind: str
    name: str
    country: str
    level: str | None


def identifier_keys(values: dict[str, str | None], level: str | None) -> list[tuple[str, str]]:
    """The keys under which an actor's identifiers are unique.

    INSEE reuses codes across levels (région 93, département 93), so its key includes the level.
    """
    keys = []
    for name in IDENTIFIERS:
        value = values.get(name)
        if not value:
            continue
        value = value.upper() if name in CASE_FREE_IDENTIFIERS else value
        keys.append((name, f"{level}:{value}" if name == "insee_code" else value))
    return keys


@dataclass
class BulkIndex:
    actors: dict[uuid.UUID, KnownActor] = field(default_factory=dict)
    identifiers: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    relationships: dict[tuple[str, uuid.UUID, uuid.UUID], uuid.UUID] = field(default_factory=dict)
    relationship_ids: set[uuid.UUID] = field(default_factory=set)
    conventions: set[uuid.UUID] = field(default_factory=set)
    projects: set[uuid.UUID] = field(default_factory=set)
    # A dry run checks everything and records no event.
    dry_run: bool = False
    # The columns of the events and audit entries of the changes not yet flushed.
    pending_events: list[dict[str, Any]] = field(default_factory=list)
    pending_audit: list[dict[str, Any]] = field(default_factory=list)
    feed_locked: bool = False
    # Name keys (duplicates.index_actor) to write at the flush, by actor, and actors whose
    # stored keys go first.
    pending_name_keys: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    pending_name_key_removals: set[uuid.UUID] = field(default_factory=set)
    _keys_of: dict[uuid.UUID, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, dry_run: bool) -> "BulkIndex":
        """The live actors, identifiers, relationships and conventions, in a few queries."""
        index = cls(dry_run=dry_run)
        rows = session.exec(
            select(
                Actor.id,
                Actor.kind,
                Actor.name,
                Actor.country,
                Actor.level,
                *(getattr(Actor, name) for name in IDENTIFIERS),
            ).where(col(Actor.deleted_at).is_(None))
        )
        for row in rows:
            index.actors[row.id] = KnownActor(row.id, row.kind, row.name, row.country, row.level)
            index._index_identifiers(row.id, row, row.level)
        for kind, subject_id, object_id, relationship_id in session.exec(
            select(
                ActorRelationship.kind,
                ActorRelationship.subject_id,
                ActorRelationship.object_id,
                ActorRelationship.id,
            ).where(col(ActorRelationship.deleted_at).is_(None))
        ):
            index.relationships[(kind, subject_id, object_id)] = relationship_id
            index.relationship_ids.add(relationship_id)
        index.conventions = set(
            session.exec(select(Convention.id).where(col(Convention.deleted_at).is_(None)))
        )
        index.projects = set(
            session.exec(select(Project.id).where(col(Project.deleted_at).is_(None)))
        )
        return index

    def remember_actor(self, actor: Actor) -> None:
        """Index an actor just created or changed, under its identifiers of now."""
        for key in self._keys_of.pop(actor.id, []):
            if self.identifiers.get(key) == actor.id:
                del self.identifiers[key]
        self.actors[actor.id] = KnownActor(
            actor.id, actor.kind, actor.name, actor.country, actor.level
        )
        self._index_identifiers(actor.id, actor, actor.level)

    def _index_identifiers(self, actor_id: uuid.UUID, source: object, level: str | None) -> None:
        keys = identifier_keys({name: getattr(source, name) for name in IDENTIFIERS}, level)
        for key in keys:
            self.identifiers[key] = actor_id
        self._keys_of[actor_id] = keys

    def remember_relationship(self, relationship: ActorRelationship) -> None:
        """Index a relationship just created or changed, under its ends of now."""
        if relationship.id in self.relationship_ids:  # changed: its old ends go
            for key in [k for k, v in self.relationships.items() if v == relationship.id]:
                del self.relationships[key]
        key = (relationship.kind, relationship.subject_id, relationship.object_id)
        self.relationships[key] = relationship.id
        self.relationship_ids.add(relationship.id)

    def is_live(self, resource: str, resource_id: uuid.UUID) -> bool:
        """Whether a live record of this type has this id."""
        if resource == "actor":
            return resource_id in self.actors
        if resource == "convention":
            return resource_id in self.conventions
        if resource == "project":
            return resource_id in self.projects
        return resource_id in self.relationship_ids

    def identifier_owner(self, name: str, value: str, level: str | None) -> uuid.UUID | None:
        keys = identifier_keys({name: value}, level)
        return self.identifiers.get(keys[0]) if keys else None


def bulk_of(session: Session) -> BulkIndex | None:
    """The session's bulk index, if it is a bulk unit of work."""
    return session.info.get("bulk")
