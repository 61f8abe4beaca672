"""Load the demo data set through the registry's own domain rules, all or nothing.

The file names actors by `ref` (a readable slug) instead of ids. Each actor's id is derived
from its ref (`demo_id`), the same in every database the demo is loaded into: the API's
examples and the documentation can name real demo actors (Kayes is always the same id).
"""

import json
import uuid
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from services.registry.actors import create_actor
from services.registry.conventions import create_convention
from services.registry.models import Actor
from services.registry.projects import create_project
from services.registry.relationships import create_relationship
from services.registry.schemas import (
    ActorCreate,
    ConventionCreate,
    ProjectCreate,
    RelationshipCreate,
)

__all__ = ["DEMO_FILE", "demo_id", "is_empty", "load_demo"]

DEMO_FILE = Path(str(files("services.registry.demo").joinpath("demo.json")))
Lookup = Callable[[str], uuid.UUID]
_NAMESPACE = uuid.UUID("0b7d5a52-7c1e-4a8e-9d0b-5061737365ff")


def demo_id(ref: str) -> uuid.UUID:
    """The id of the demo actor `ref` (e.g. `ml-kayes`), in any database it is loaded into."""
    return uuid.uuid5(_NAMESPACE, ref)


def is_empty(session: Session) -> bool:
    """True when the registry holds no actor at all, not even a deleted one."""
    return session.exec(select(Actor.id).limit(1)).first() is None


def load_demo(session: Session, path: Path = DEMO_FILE) -> dict[str, int]:
    """Add every record of the data set in `path`; the caller commits. Returns the counts."""
    data = json.loads(path.read_text(encoding="utf-8"))
    actor_ids: dict[str, uuid.UUID] = {}
    convention_ids: dict[str, uuid.UUID] = {}
    actor = actor_ids.__getitem__

    for spec in data["actors"]:
        fields = _without(spec, "ref", "based_in", "origins")
        if "based_in" in spec:
            fields["based_in_id"] = actor(spec["based_in"])
        fields["origin_ids"] = [actor(ref) for ref in spec.get("origins", [])]
        created = create_actor(
            session,
            ActorCreate.model_validate(fields),
            names=None,
            duplicate_threshold=None,
            actor_id=demo_id(spec["ref"]),
        )
        actor_ids[spec["ref"]] = created.id

    for spec in data.get("relationships", []):
        fields = _without(spec, "subject", "object")
        fields.update(subject_id=actor(spec["subject"]), object_id=actor(spec["object"]))
        create_relationship(session, RelationshipCreate.model_validate(fields))

    for spec in data.get("conventions", []):
        fields = _with_target(_without(spec, "ref", "parties"), spec, actor)
        fields["parties"] = [_party(party, actor) for party in spec["parties"]]
        created = create_convention(session, ConventionCreate.model_validate(fields))
        convention_ids[spec["ref"]] = created.id

    for spec in data.get("projects", []):
        fields = _with_target(_without(spec, "ref", "lead", "partners", "convention"), spec, actor)
        fields["lead_id"] = actor(spec["lead"])
        fields["partners"] = [_party(party, actor) for party in spec.get("partners", [])]
        if "convention" in spec:
            fields["convention_id"] = convention_ids[spec["convention"]]
        create_project(session, ProjectCreate.model_validate(fields))

    names = ("actors", "relationships", "conventions", "projects")
    return {name: len(data.get(name, [])) for name in names}


def _without(spec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in spec.items() if key not in keys}


def _with_target(fields: dict[str, Any], spec: dict[str, Any], actor: Lookup) -> dict[str, Any]:
    fields.pop("target", None)
    if "target" in spec:
        fields["target_id"] = actor(spec["target"])
    return fields


def _party(party: dict[str, Any], actor: Lookup) -> dict[str, Any]:
    return {"actor_id": actor(party["actor"]), "role": party.get("role", "partner")}
