"""The registry's API shapes: what clients send (…Create, …Update) and read (…Read).

Field-level checks (formats, closed lists, ranges) happen here, at the edge; rules that relate
several fields or need the database live in the domain modules (actors.py, conventions.py, …).
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
)

from services.registry import examples
from services.registry.vocabulary import (
    ActorKind,
    ConventionKind,
    CountryCode,
    CurrencyCode,
    IatiId,
    InseeCode,
    Level,
    PartyRole,
    RelationshipKind,
    Rna,
    Siren,
    Status,
    ThemeCode,
    WikidataQid,
)
from shared.db import BIGINT_MAX
from shared.text import NO_NUL, VISIBLE

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=NO_NUL),
    VISIBLE,
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL),
    VISIBLE,
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000, pattern=NO_NUL)]
Acronym = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50, pattern=NO_NUL)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().-]{4,30}$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class Contact(BaseModel):
    email: EmailStr | None = None
    phone: Phone | None = None


class PrivateContact(Contact):
    """A named person's contact: personal data, never shown in public listings."""

    name: Name | None = None


class Budget(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2, examples=["45000.00"])
    currency: CurrencyCode = Field(examples=["EUR"])

    @field_validator("amount")
    @classmethod
    def _cents(cls, amount: Decimal) -> Decimal:
        # The database keeps two decimals; answer with the same figure it will store.
        return amount.quantize(Decimal("0.01"))


class Party(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    actor_id: uuid.UUID
    role: PartyRole = PartyRole.partner


class ResourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="Increases with every change; also sent as the ETag.")


# --- actors ----------------------------------------------------------------------------------


class ActorBase(BaseModel):
    """Every field of an actor, all optional: PATCH sends only what changes."""

    kind: ActorKind | None = None
    name: Name | None = None
    acronym: Acronym | None = None
    description: Text | None = None
    country: CountryCode | None = Field(default=None, description="ISO 3166-1 alpha-2.")
    level: Level | None = Field(default=None, description="Only for local authorities.")
    insee_code: InseeCode | None = Field(
        default=None, description="INSEE COG code of a French local authority."
    )
    siren: Siren | None = Field(default=None, description="French SIREN, 9 digits.")
    rna: Rna | None = Field(default=None, description="French association number, W + 9 digits.")
    wikidata_qid: WikidataQid | None = None
    iati_id: IatiId | None = Field(default=None, description="IATI organisation identifier.")
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    population: Annotated[int, Field(ge=0, le=BIGINT_MAX)] | None = None
    based_in_id: uuid.UUID | None = Field(
        default=None, description="The local authority where this actor is based."
    )
    origin_ids: list[uuid.UUID] | None = Field(
        default=None,
        description="Migrant organisations only: the local authorities its members come from.",
    )
    intervention_countries: list[CountryCode] | None = Field(
        default=None, description="Countries where the actor works, even without a convention."
    )
    themes: list[ThemeCode] | None = None
    website: HttpUrl | None = None
    public_contact: Contact | None = None
    private_contact: PrivateContact | None = None


class ActorCreate(ActorBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "migrant_organisation",
                    "name": "Association des ressortissants de Kayes à Montreuil",
                    "country": "FR",
                    "based_in_id": examples.MONTREUIL,
                    "origin_ids": [examples.KAYES],
                    "themes": ["water_sanitation", "migration_development"],
                    "intervention_countries": ["ML"],
                }
            ]
        }
    )

    kind: ActorKind
    name: Name
    country: CountryCode = Field(description="ISO 3166-1 alpha-2.")
    origin_ids: list[uuid.UUID] = Field(default_factory=list)
    intervention_countries: list[CountryCode] = Field(default_factory=list)
    themes: list[ThemeCode] = Field(default_factory=list)


class ActorUpdate(ActorBase):
    """Fields to change; a field sent as null is cleared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "description": "Eau, santé et jeunesse avec la région de Kayes.",
                    "themes": ["water_sanitation", "health", "youth"],
                }
            ]
        }
    )


class ActorRead(ResourceRead):
    kind: ActorKind
    name: str
    acronym: str | None
    description: str | None
    country: str
    level: Level | None
    insee_code: str | None
    siren: str | None
    rna: str | None
    wikidata_qid: str | None
    iati_id: str | None
    latitude: float | None
    longitude: float | None
    population: int | None
    based_in_id: uuid.UUID | None
    origin_ids: list[uuid.UUID]
    intervention_countries: list[str]
    themes: list[str]
    website: str | None
    public_contact: Contact | None


class ActorDetail(ActorRead):
    private_contact: PrivateContact | None


# --- conventions and projects ------------------------------------------------------------------


class FundedBase(BaseModel):
    """Target, themes, period, status and budget: what conventions and projects share."""

    target_id: uuid.UUID | None = Field(
        default=None, description="The local authority where the action happens."
    )
    target_country: CountryCode | None = Field(
        default=None, description="Country of the action; taken from the target when omitted."
    )
    themes: list[ThemeCode] | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: Status | None = None
    budget: Budget | None = None
    description: Text | None = None


class ConventionBase(FundedBase):
    kind: ConventionKind | None = None
    title: Title | None = None
    parties: list[Party] | None = Field(default=None, description="At least two actors.")
    signed_on: date | None = None
    source_url: HttpUrl | None = None


class ConventionCreate(ConventionBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "decentralised_cooperation",
                    "title": "Coopération Lille – Saint-Louis : Agenda 21 de quartier",
                    "parties": [
                        {"actor_id": examples.LILLE, "role": "signatory"},
                        {"actor_id": examples.SAINT_LOUIS, "role": "signatory"},
                    ],
                    "target_id": examples.SAINT_LOUIS,
                    "themes": ["sustainable_development"],
                    "signed_on": "2005-03-14",
                    "starts_on": "2005-04-01",
                    "status": "active",
                    "budget": {"amount": "120000.00", "currency": "EUR"},
                }
            ]
        }
    )

    kind: ConventionKind
    title: Title
    parties: list[Party] = Field(description="At least two actors, each with a role.")
    themes: list[ThemeCode] = Field(default_factory=list)
    status: Status = Status.active


class ConventionUpdate(ConventionBase):
    """Fields to change; a field sent as null is cleared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"themes": ["sustainable_development", "water_sanitation"]}]
        }
    )


class FundedRead(ResourceRead):
    target_id: uuid.UUID | None
    target_country: str | None
    themes: list[str]
    starts_on: date | None
    ends_on: date | None
    status: Status
    budget: Budget | None
    description: str | None


class ConventionRead(FundedRead):
    kind: ConventionKind
    title: str
    parties: list[Party]
    signed_on: date | None
    source_url: str | None

    @field_validator("parties")
    @classmethod
    def _by_actor(cls, parties: list[Party]) -> list[Party]:
        """One order whatever the database or the request: by actor id."""
        return sorted(parties, key=lambda party: str(party.actor_id))


class ProjectBase(FundedBase):
    title: Title | None = None
    convention_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    partners: list[Party] | None = Field(default=None, description="Partners other than the lead.")


class ProjectCreate(ProjectBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Accès à l'eau potable dans trois quartiers de Kayes",
                    "lead_id": examples.MONTREUIL,
                    "partners": [{"actor_id": examples.KAYES, "role": "operator"}],
                    "target_id": examples.KAYES,
                    "themes": ["water_sanitation"],
                    "starts_on": "2024-01-01",
                    "ends_on": "2026-12-31",
                    "budget": {"amount": "85000", "currency": "EUR"},
                }
            ]
        }
    )

    title: Title
    lead_id: uuid.UUID
    partners: list[Party] = Field(default_factory=list)
    themes: list[ThemeCode] = Field(default_factory=list)
    status: Status = Status.active


class ProjectUpdate(ProjectBase):
    """Fields to change; a field sent as null is cleared."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Deuxième phase : extension à deux quartiers de plus."}]
        }
    )


class ProjectRead(FundedRead):
    title: str
    convention_id: uuid.UUID | None
    lead_id: uuid.UUID
    partners: list[Party]

    @field_validator("partners")
    @classmethod
    def _by_actor(cls, partners: list[Party]) -> list[Party]:
        """One order whatever the database or the request: by actor id."""
        return sorted(partners, key=lambda party: str(party.actor_id))


# --- relationships -----------------------------------------------------------------------------


class RelationshipBase(BaseModel):
    kind: RelationshipKind | None = None
    subject_id: uuid.UUID | None = None
    object_id: uuid.UUID | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    description: Text | None = None


class RelationshipCreate(RelationshipBase):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "member_of",
                    "subject_id": examples.SANTE_SAHEL_MONTREUIL,
                    "object_id": examples.PS_EAU,
                    "starts_on": "2012-01-01",
                }
            ]
        }
    )

    kind: RelationshipKind
    subject_id: uuid.UUID
    object_id: uuid.UUID


class RelationshipUpdate(RelationshipBase):
    """Fields to change; a field sent as null is cleared."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": "Adhésion renouvelée chaque année."}]}
    )


class RelationshipRead(ResourceRead):
    kind: RelationshipKind
    subject_id: uuid.UUID
    object_id: uuid.UUID
    starts_on: date | None
    ends_on: date | None
    description: str | None
