"""The registry → matching contract: each resource exactly as the change feed and the
listings carry it.

The registry serialises every event's data through these records, and the matching service
parses every event and listing item with them, so a change on one side that the other does
not understand fails at the edge, with the field that is wrong, instead of deep in the graph.
Unknown extra fields are ignored on reading, so the registry may add a field before the
matching service uses it.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from shared.vocabulary import ActorKind, ConventionKind, Level, PartyRole, RelationshipKind, Status

__all__ = [
    "ActorRecord",
    "Budget",
    "Contact",
    "ConventionRecord",
    "Party",
    "ProjectRecord",
    "Record",
    "RelationshipRecord",
]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Contact(_Shape):
    email: str | None = None
    phone: str | None = None


class Budget(_Shape):
    amount: Decimal
    currency: str


class Party(_Shape):
    actor_id: uuid.UUID
    role: PartyRole = PartyRole.partner


class Record(_Shape):
    """What every resource carries; `deleted_at` is set only on a deletion's tombstone."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int
    deleted_at: datetime | None = None


class ActorRecord(Record):
    kind: ActorKind
    name: str
    acronym: str | None = None
    description: str | None = None
    country: str
    level: Level | None = None
    insee_code: str | None = None
    siren: str | None = None
    rna: str | None = None
    wikidata_qid: str | None = None
    iati_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    population: int | None = None
    based_in_id: uuid.UUID | None = None
    origin_ids: list[uuid.UUID] = []
    intervention_countries: list[str] = []
    themes: list[str] = []
    website: str | None = None
    public_contact: Contact | None = None


class _Funded(Record):
    target_id: uuid.UUID | None = None
    target_country: str | None = None
    themes: list[str] = []
    starts_on: date | None = None
    ends_on: date | None = None
    status: Status
    budget: Budget | None = None
    description: str | None = None


class ConventionRecord(_Funded):
    kind: ConventionKind
    title: str
    parties: list[Party]
    signed_on: date | None = None
    source_url: str | None = None


class ProjectRecord(_Funded):
    title: str
    convention_id: uuid.UUID | None = None
    lead_id: uuid.UUID
    partners: list[Party] = []


class RelationshipRecord(Record):
    kind: RelationshipKind
    subject_id: uuid.UUID
    object_id: uuid.UUID
    starts_on: date | None = None
    ends_on: date | None = None
    description: str | None = None
