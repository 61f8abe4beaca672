"""The shape of the map export (`services.registry.exports.geo`), for the OpenAPI document: what
a front-end developer (and a generated client) can rely on in each feature."""

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.vocabulary import ActorKind, ConventionKind, Level, Status

__all__ = ["MapFeatureCollection"]

# RFC 7946: longitude first, then latitude, in decimal degrees (WGS 84).
Position = tuple[float, float]


class Point(BaseModel):
    type: Literal["Point"]
    coordinates: Position = Field(description="[longitude, latitude]")


class LineString(BaseModel):
    type: Literal["LineString"]
    coordinates: list[Position] = Field(
        min_length=2, max_length=2, description="The two ends, `from` then `to`."
    )


class ActorProperties(BaseModel):
    id: uuid.UUID
    name: str
    acronym: str | None
    kind: ActorKind
    kind_label: str = Field(description="The kind in French.")
    level: Level | None
    level_label: str | None = Field(description="The level in French.")
    country: str
    country_name: str = Field(description="The country's French name.")
    themes: list[str]
    theme_labels: list[str] = Field(description="The themes' French labels, in the same order.")
    population: int | None


class TieProperties(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID = Field(description="The convention's or the project's id.")
    type: Literal["convention", "project"]
    kind: ConventionKind | None = Field(description="Conventions only.")
    kind_label: str | None
    title: str
    themes: list[str]
    theme_labels: list[str]
    status: Status
    status_label: str
    starts_on: date | None
    ends_on: date | None
    from_: uuid.UUID = Field(
        alias="from", description="The actor at the first end: a party, or the project's lead."
    )
    to: uuid.UUID = Field(description="The actor at the other end.")


class ActorFeature(BaseModel):
    """An actor with coordinates."""

    type: Literal["Feature"]
    id: uuid.UUID
    geometry: Point
    properties: ActorProperties


class TieFeature(BaseModel):
    """A convention between two of its parties, or a project from its lead to a partner."""

    type: Literal["Feature"]
    geometry: LineString
    properties: TieProperties


class MapFeatureCollection(BaseModel):
    """An RFC 7946 FeatureCollection: the actors first, then the ties among them."""

    type: Literal["FeatureCollection"]
    features: list[ActorFeature | TieFeature]
