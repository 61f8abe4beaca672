"""The registry as a map: an RFC 7946 GeoJSON FeatureCollection, written page by page.

- Each actor with coordinates is a Point, `[longitude, latitude]` (WGS 84, as RFC 7946 wants:
  no `crs` member).
- Each cooperation tie is a LineString between two actors on the map. A convention ties
  equals: one line per pair of its parties. A project has a lead that coordinates it: a star,
  one line from the lead to each partner (partners of a project need not know each other).
  A line is drawn only when both its ends are on the map, so a filter on the actors (a bbox, a
  kind, a theme…) keeps exactly the ties among the actors it keeps.

The actors come first, and the positions of those drawn are kept (a small id → position map,
not the records) so that the ties that follow can be placed.
"""

import itertools
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from services.registry.exports.labels import theme_labels
from services.registry.models import Actor, Convention, Project
from shared.countries import country_label
from shared.vocabulary import ActorKind, ConventionKind, Level, Status, label_fr

__all__ = ["feature_collection", "map_features"]

Feature = dict[str, Any]
Position = tuple[float, float]  # longitude, latitude
TieType = Literal["convention", "project"]


def _point(actor: Actor, position: Position) -> Feature:
    return {
        "type": "Feature",
        "id": str(actor.id),
        "geometry": {"type": "Point", "coordinates": list(position)},
        "properties": {
            "id": str(actor.id),
            "name": actor.name,
            "acronym": actor.acronym,
            "kind": actor.kind,
            "kind_label": label_fr(actor.kind, ActorKind),
            "level": actor.level,
            "level_label": label_fr(actor.level, Level) or None,
            "country": actor.country,
            "country_name": country_label(actor.country),
            "themes": actor.themes,
            "theme_labels": theme_labels(actor.themes),
            "population": actor.population,
        },
    }


def _tie_properties(tie_type: TieType, tie: Convention | Project) -> dict[str, Any]:
    kind = tie.kind if isinstance(tie, Convention) else None
    return {
        "id": str(tie.id),
        "type": tie_type,
        "kind": kind,
        "kind_label": label_fr(kind, ConventionKind) or None,
        "title": tie.title,
        "themes": tie.themes,
        "theme_labels": theme_labels(tie.themes),
        "status": tie.status,
        "status_label": label_fr(tie.status, Status),
        "starts_on": tie.starts_on.isoformat() if tie.starts_on else None,
        "ends_on": tie.ends_on.isoformat() if tie.ends_on else None,
    }


def _pairs(tie: Convention | Project) -> Iterator[tuple[uuid.UUID, uuid.UUID]]:
    """The ends of the tie's lines: every pair of parties, or the lead to each partner."""
    if isinstance(tie, Convention):
        parties = sorted((party.actor_id for party in tie.parties), key=str)
        return itertools.combinations(parties, 2)
    partners = sorted((partner.actor_id for partner in tie.partners), key=str)
    return ((tie.lead_id, partner) for partner in partners if partner != tie.lead_id)


def _lines(
    tie_type: TieType, tie: Convention | Project, positions: dict[uuid.UUID, Position]
) -> list[Feature]:
    kept = [(a, b) for a, b in _pairs(tie) if a in positions and b in positions]
    if not kept:
        return []
    properties = _tie_properties(tie_type, tie)
    return [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [list(positions[a]), list(positions[b])],
            },
            "properties": properties | {"from": str(a), "to": str(b)},
        }
        for a, b in kept
    ]


def map_features(
    actor_pages: Iterable[list[Actor]],
    convention_pages: Iterable[list[Convention]],
    project_pages: Iterable[list[Project]],
) -> Iterator[list[Feature]]:
    """The map's features, one list per page read: points first, then the ties among them.

    The pages are read lazily, in this order; the ties' pages only once every actor is placed.
    """
    positions: dict[uuid.UUID, Position] = {}
    for actors in actor_pages:
        points = []
        for actor in actors:
            if actor.longitude is None or actor.latitude is None:
                continue
            positions[actor.id] = (actor.longitude, actor.latitude)
            points.append(_point(actor, positions[actor.id]))
        yield points
    for conventions in convention_pages:
        yield [line for c in conventions for line in _lines("convention", c, positions)]
    for projects in project_pages:
        yield [line for p in projects for line in _lines("project", p, positions)]


def feature_collection(feature_pages: Iterable[list[Feature]]) -> Iterator[bytes]:
    """The FeatureCollection as UTF-8 JSON, one chunk per page of features."""
    yield b'{"type":"FeatureCollection","features":['
    separator = b""
    for features in feature_pages:
        if not features:
            continue
        text = ",".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
        yield separator + text.encode("utf-8")
        separator = b","
    yield b"]}"
