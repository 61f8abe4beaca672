"""The generated data set in memory: rows of the four import files, actors referred to by their
position in `DataSet.actors` until they are written with their file ids."""

from dataclasses import dataclass, field
from datetime import date

__all__ = ["ActorRow", "DataSet", "RelationshipRow", "WorkRow"]


@dataclass
class ActorRow:
    ref: str
    kind: str
    name: str
    country: str
    level: str | None = None
    insee_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    population: int | None = None
    based_in: int | None = None
    origins: list[int] = field(default_factory=list)
    intervention_countries: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    acronym: str | None = None
    description: str | None = None
    # Not written: where a French actor is, for the generator's own choices, and a foreign
    # province's place name without "Province of" (for the names of what is based there).
    department: str | None = None
    region: str | None = None
    place_name: str | None = None

    @property
    def short_name(self) -> str:
        return self.place_name or self.name


@dataclass
class WorkRow:
    """A convention (`kind` set, parties in `parties`) or a project (`lead` set, partners in
    `parties`)."""

    ref: str
    title: str
    parties: list[tuple[int, str]]
    themes: list[str]
    status: str
    kind: str | None = None
    lead: int | None = None
    convention: str | None = None
    target: int | None = None
    signed_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    budget: int | None = None  # whole units of `currency`
    currency: str = "EUR"
    description: str | None = None

    def members(self) -> list[int]:
        lead = [] if self.lead is None else [self.lead]
        return lead + [actor for actor, _role in self.parties]


@dataclass
class RelationshipRow:
    ref: str
    kind: str
    subject: int
    object: int
    starts_on: date | None = None


@dataclass
class DataSet:
    actors: list[ActorRow] = field(default_factory=list)
    relationships: list[RelationshipRow] = field(default_factory=list)
    conventions: list[WorkRow] = field(default_factory=list)
    projects: list[WorkRow] = field(default_factory=list)

    def add(self, actor: ActorRow) -> int:
        self.actors.append(actor)
        return len(self.actors) - 1
