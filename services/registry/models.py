"""The registry's tables. API shapes live in schemas.py; rules live in the domain modules."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Text,
    text,
)
from sqlmodel import Field, Relationship, SQLModel

from shared.db import UTCDateTime, new_id, utcnow
from shared.idempotency import idempotency_table

__all__ = [
    "Actor",
    "ActorIntervention",
    "ActorNameKey",
    "ActorOrigin",
    "ActorRelationship",
    "ActorTheme",
    "ApiKey",
    "AuditEntry",
    "Convention",
    "ConventionParty",
    "ConventionTheme",
    "Event",
    "FeedState",
    "Project",
    "ProjectPartner",
    "ProjectTheme",
    "SourceRef",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "idempotency_records",
    "metadata",
]

# Deterministic constraint names, so Alembic can drop and alter them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

_CASCADE = {"cascade": "all, delete-orphan", "lazy": "selectin"}


class Resource(SQLModel):
    """Columns every top-level resource carries: identity, timestamps, version, tombstone."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The public JSON of the resource as of its version, written with each change's event
    # (`outbox.record_change`): reads and listings send it as it is instead of rebuilding it
    # from the rows, model by model, on every request.
    document: str | None = Field(default=None, sa_type=Text)


def _live_text_search(table: str, column: str) -> Index:
    """On PostgreSQL, a trigram index (`pg_trgm`) of live rows' `column`, which serves `LIKE
    '%word%'`: a search for a rare word reads the rows that contain its trigrams instead of
    every row (at 100,000 actors, 29–43 ms → 0.2 ms). The planner keeps walking the listing's
    order for a common word, whose first page comes sooner that way. SQLite has no such index:
    there the search reads every name. Migration 0014 creates the extension if it can."""
    index = Index(
        f"ix_{table}_live_text",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=text("deleted_at IS NULL"),
        info={"dialects": ("postgresql",)},
    )
    return index.ddl_if(dialect="postgresql")


def _live_in_order(table: str, *leading: str) -> Index:
    """Live rows in listing order (`resources.keyset`: created_at, id), after the `leading`
    columns a listing filters on with one value: a page is read in order and stops at its
    limit, instead of sorting every matching row (and its document) on each request."""
    live = text("deleted_at IS NULL")
    name = "_".join(leading) if leading else "created"
    return Index(
        f"ix_{table}_live_{name}",
        *leading,
        "created_at",
        "id",
        sqlite_where=live,
        postgresql_where=live,
    )


def _unique_live(table: str, column: str, *scope: str) -> Index:
    """Identifiers are unique among live resources; a tombstone frees its identifiers."""
    condition = text(f"{column} IS NOT NULL AND deleted_at IS NULL")
    return Index(
        f"uq_{table}_{column}_live",
        column,
        *scope,
        unique=True,
        sqlite_where=condition,
        postgresql_where=condition,
    )


class ActorTheme(SQLModel, table=True):
    __tablename__: ClassVar[str] = "actor_theme"  # type: ignore[misc]
    actor_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True)
    theme: str = Field(primary_key=True, max_length=64, index=True)


class ActorIntervention(SQLModel, table=True):
    """A country where an association or migrant organisation works, even without a convention."""

    __tablename__: ClassVar[str] = "actor_intervention"  # type: ignore[misc]
    actor_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True)
    country: str = Field(primary_key=True, max_length=2, index=True)


class ActorOrigin(SQLModel, table=True):
    """A migrant organisation's territory of origin: the second side of its double anchorage."""

    __tablename__: ClassVar[str] = "actor_origin"  # type: ignore[misc]
    actor_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True)
    origin_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True, index=True)


class Actor(Resource, table=True):
    __tablename__: ClassVar[str] = "actor"  # type: ignore[misc]
    __table_args__ = (
        # INSEE reuses codes across levels: région 93 and département 93 are not the same.
        _unique_live("actor", "insee_code", "level"),
        *(_unique_live("actor", column) for column in ("siren", "rna", "wikidata_qid", "iati_id")),
        _live_in_order("actor"),
        # The directory's commonest listing: one kind of actor in one country.
        _live_in_order("actor", "kind", "country"),
        _live_text_search("actor", "search_name"),
    )

    kind: str = Field(max_length=32, index=True)
    name: str = Field(max_length=300)
    # Lower-case, accent-free name and acronym: what text search compares, for a word anywhere
    # in it (LIKE '%word%'): no B-tree index serves that; PostgreSQL's trigram index does.
    search_name: str = Field(max_length=700)
    acronym: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, sa_type=Text)
    country: str = Field(max_length=2, index=True)
    level: str | None = Field(default=None, max_length=32, index=True)
    insee_code: str | None = Field(default=None, max_length=5)
    siren: str | None = Field(default=None, max_length=9)
    rna: str | None = Field(default=None, max_length=10)
    wikidata_qid: str | None = Field(default=None, max_length=20)
    iati_id: str | None = Field(default=None, max_length=100)
    latitude: float | None = Field(default=None, index=True)
    longitude: float | None = Field(default=None)
    population: int | None = Field(default=None, sa_type=BigInteger)
    based_in_id: uuid.UUID | None = Field(default=None, foreign_key="actor.id", index=True)
    website: str | None = Field(default=None, max_length=500)
    public_contact: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    private_contact: dict[str, Any] | None = Field(default=None, sa_type=JSON)

    theme_links: list[ActorTheme] = Relationship(sa_relationship_kwargs=_CASCADE)
    intervention_links: list[ActorIntervention] = Relationship(sa_relationship_kwargs=_CASCADE)
    origin_links: list[ActorOrigin] = Relationship(
        sa_relationship_kwargs={**_CASCADE, "foreign_keys": "ActorOrigin.actor_id"}
    )

    @property
    def themes(self) -> list[str]:
        return sorted(link.theme for link in self.theme_links)

    @property
    def intervention_countries(self) -> list[str]:
        return sorted(link.country for link in self.intervention_links)

    @property
    def origin_ids(self) -> list[uuid.UUID]:
        return [link.origin_id for link in self.origin_links]


class ConventionTheme(SQLModel, table=True):
    __tablename__: ClassVar[str] = "convention_theme"  # type: ignore[misc]
    convention_id: uuid.UUID = Field(foreign_key="convention.id", primary_key=True)
    theme: str = Field(primary_key=True, max_length=64, index=True)


class ConventionParty(SQLModel, table=True):
    __tablename__: ClassVar[str] = "convention_party"  # type: ignore[misc]
    convention_id: uuid.UUID = Field(foreign_key="convention.id", primary_key=True)
    actor_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True, index=True)
    role: str = Field(max_length=32)


class Funded(SQLModel):
    """Target territory, period, status and budget: what conventions and projects share."""

    target_id: uuid.UUID | None = Field(default=None, foreign_key="actor.id", index=True)
    target_country: str | None = Field(default=None, max_length=2, index=True)
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = Field(max_length=32, index=True)
    budget_amount: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    budget_currency: str | None = Field(default=None, max_length=3)
    description: str | None = Field(default=None, sa_type=Text)

    @property
    def budget(self) -> dict[str, Any] | None:
        if self.budget_amount is None:
            return None
        return {"amount": self.budget_amount, "currency": self.budget_currency}


class Convention(Resource, Funded, table=True):
    __tablename__: ClassVar[str] = "convention"  # type: ignore[misc]
    __table_args__ = (_live_in_order("convention"),)

    kind: str = Field(max_length=32, index=True)
    title: str = Field(max_length=500)
    signed_on: date | None = None
    source_url: str | None = Field(default=None, max_length=1000)

    theme_links: list[ConventionTheme] = Relationship(sa_relationship_kwargs=_CASCADE)
    parties: list[ConventionParty] = Relationship(sa_relationship_kwargs=_CASCADE)

    @property
    def themes(self) -> list[str]:
        return sorted(link.theme for link in self.theme_links)


class ProjectTheme(SQLModel, table=True):
    __tablename__: ClassVar[str] = "project_theme"  # type: ignore[misc]
    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True)
    theme: str = Field(primary_key=True, max_length=64, index=True)


class ProjectPartner(SQLModel, table=True):
    __tablename__: ClassVar[str] = "project_partner"  # type: ignore[misc]
    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True)
    actor_id: uuid.UUID = Field(foreign_key="actor.id", primary_key=True, index=True)
    role: str = Field(max_length=32)


class Project(Resource, Funded, table=True):
    __tablename__: ClassVar[str] = "project"  # type: ignore[misc]
    __table_args__ = (_live_in_order("project"),)

    title: str = Field(max_length=500)
    convention_id: uuid.UUID | None = Field(default=None, foreign_key="convention.id", index=True)
    lead_id: uuid.UUID = Field(foreign_key="actor.id", index=True)

    theme_links: list[ProjectTheme] = Relationship(sa_relationship_kwargs=_CASCADE)
    partners: list[ProjectPartner] = Relationship(sa_relationship_kwargs=_CASCADE)

    @property
    def themes(self) -> list[str]:
        return sorted(link.theme for link in self.theme_links)


class ActorRelationship(Resource, table=True):
    """A tie between two actors that is not a convention: membership, support, coordination."""

    __tablename__: ClassVar[str] = "relationship"  # type: ignore[misc]
    __table_args__ = (
        # One live tie of a kind between two actors, even when two writers add it at once.
        Index(
            "uq_relationship_tie_live",
            "kind",
            "subject_id",
            "object_id",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        _live_in_order("relationship"),
    )

    kind: str = Field(max_length=32, index=True)
    subject_id: uuid.UUID = Field(foreign_key="actor.id", index=True)
    object_id: uuid.UUID = Field(foreign_key="actor.id", index=True)
    starts_on: date | None = None
    ends_on: date | None = None
    description: str | None = Field(default=None, sa_type=Text)


class Event(SQLModel, table=True):
    """The outbox: one row per committed change, written in the transaction of the change.

    It is both the public change feed and the source of webhook deliveries.
    """

    __tablename__: ClassVar[str] = "event"  # type: ignore[misc]
    # SQLite must never reuse a sequence number, even after old events are purged.
    __table_args__ = {"sqlite_autoincrement": True}

    sequence: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    id: uuid.UUID = Field(default_factory=new_id, unique=True)
    type: str = Field(max_length=64, index=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    resource_type: str = Field(max_length=32)
    resource_id: uuid.UUID = Field(index=True)
    resource_version: int
    data: dict[str, Any] = Field(sa_type=JSON)
    # The event's public envelope as JSON, its sequence written as 0 (the number is drawn by
    # the insert): a page of the feed is these texts with their numbers put in
    # (`outbox.stored_envelope`, `feed.read_feed`), not a model built per event per request.
    envelope: str | None = Field(default=None, sa_type=Text)
    # The X-Request-ID of the request that made the change (shared.operations.request_id).
    request_id: str | None = Field(default=None, max_length=128)


class ActorNameKey(SQLModel, table=True):
    """A segment of a live actor's comparable name, under which duplicate detection finds it
    (services.registry.name_keys). Derived from the actor; rewritten when its name, kind or
    country changes, removed when it is deleted."""

    __tablename__: ClassVar[str] = "actor_name_key"  # type: ignore[misc]
    # A probe looks up about 150 keys and reads the comparable name of every match: a few
    # hundred rows for a name built like many others ("Association pour le développement de
    # …"). Kept beside the key in the primary key's tree (a table without rowid on SQLite, an
    # included column on PostgreSQL), each match is read from one tree, not two: the look-up
    # took half the time.
    __table_args__ = (
        PrimaryKeyConstraint("key", "actor_id", postgresql_include=["comparable"]),
        {"sqlite_with_rowid": False},
    )

    key: str = Field(primary_key=True, max_length=100)
    actor_id: uuid.UUID = Field(primary_key=True, index=True)
    # The name as duplicate detection compares it, so candidates are scored from the index.
    comparable: str = Field(max_length=700)


class SourceRef(SQLModel, table=True):
    """A record's id in a file it was imported from, so the file's rows and later files of the
    same source can refer to it, and a re-import finds it again."""

    __tablename__: ClassVar[str] = "source_ref"  # type: ignore[misc]

    source: str = Field(primary_key=True, max_length=100)
    resource_type: str = Field(primary_key=True, max_length=32)
    ref: str = Field(primary_key=True, max_length=200)
    resource_id: uuid.UUID = Field(index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FeedState(SQLModel, table=True):
    """One row: up to which sequence old events were purged (consumers behind it must resync)."""

    __tablename__: ClassVar[str] = "feed_state"  # type: ignore[misc]
    id: int = Field(default=1, primary_key=True)
    purged_through: int = Field(default=0, sa_type=BigInteger)


class WebhookEndpoint(SQLModel, table=True):
    __tablename__: ClassVar[str] = "webhook_endpoint"  # type: ignore[misc]

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=1000)
    # Empty means every event type.
    event_types: list[str] = Field(default_factory=list, sa_type=JSON)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enabled: bool = Field(default=True, index=True)
    disabled_reason: str | None = Field(default=None, max_length=1000)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The key that registered it: only that key (or an admin) sees and manages it.
    owner_key_id: uuid.UUID | None = Field(default=None, foreign_key="api_key.id", index=True)

    def accepts(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(SQLModel, table=True):
    """One event to deliver to one endpoint, retried on a schedule until it succeeds or fails."""

    __tablename__: ClassVar[str] = "webhook_delivery"  # type: ignore[misc]
    __table_args__ = (
        # The dispatcher's only question: which pending deliveries are due?
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", index=True)
    event_sequence: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"),
            ForeignKey("event.sequence"),
            nullable=False,
            index=True,
        )
    )
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A claimed delivery belongs to one dispatcher until this instant; a crash frees it then.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)

    attempt_log: list["WebhookAttempt"] = Relationship(
        sa_relationship_kwargs={**_CASCADE, "order_by": "WebhookAttempt.number"}
    )


class WebhookAttempt(SQLModel, table=True):
    __tablename__: ClassVar[str] = "webhook_attempt"  # type: ignore[misc]

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", index=True)
    number: int
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    duration_ms: int
    error: str | None = Field(default=None, max_length=1000)
    response_excerpt: str | None = Field(default=None, max_length=1000)


class ApiKey(SQLModel, table=True):
    """A caller's credential. Only a SHA-256 digest of the secret is kept: a stolen database
    reveals no usable key, and keys are long random strings, so a slow hash would add nothing.
    """

    __tablename__: ClassVar[str] = "api_key"  # type: ignore[misc]

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    # The first characters of the key, shown in listings so an owner can recognise it.
    prefix: str = Field(max_length=16)
    secret_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_type=JSON)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="actor.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    created_by: str = Field(max_length=200)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who changed what: one row per write, in the transaction of the write."""

    __tablename__: ClassVar[str] = "audit_entry"  # type: ignore[misc]
    __table_args__ = {"sqlite_autoincrement": True}

    sequence: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # None for command-line work (demo data, key bootstrap).
    key_id: uuid.UUID | None = Field(default=None, foreign_key="api_key.id", index=True)
    key_name: str = Field(max_length=200)
    action: str = Field(max_length=64, index=True)
    resource_type: str = Field(max_length=32)
    resource_id: uuid.UUID | None = Field(default=None, index=True)


idempotency_records = idempotency_table(metadata)
