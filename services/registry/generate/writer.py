"""The data set as import files: one CSV per resource, with the columns the import reads
(`services.registry.columns`, the one definition of them), references by the files' own ids."""

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.registry.columns import (
    LIST_SEPARATOR,
    ROLE_SEPARATOR,
    Resource,
    import_columns,
)
from services.registry.generate.model import ActorRow, DataSet, RelationshipRow, WorkRow

__all__ = ["FILES", "write_files"]

# In the order they must be imported: each refers only to the files before it.
FILES: tuple[tuple[Resource, str], ...] = (
    ("actor", "actors.csv"),
    ("relationship", "relationships.csv"),
    ("convention", "conventions.csv"),
    ("project", "projects.csv"),
)


def _join(values: list[str]) -> str | None:
    """A list cell; None (an empty cell, which says nothing) for an empty list."""
    return LIST_SEPARATOR.join(values) if values else None


def write_files(data: DataSet, folder: Path) -> dict[str, int]:
    """Write the four files into `folder`; the number of rows of each."""
    folder.mkdir(parents=True, exist_ok=True)
    refs = [actor.ref for actor in data.actors]
    rows: dict[Resource, tuple[list[Any], Callable[[Any], dict[str, Any]]]] = {
        "actor": (data.actors, lambda a: _actor(a, refs)),
        "relationship": (data.relationships, lambda r: _relationship(r, refs)),
        "convention": (data.conventions, lambda c: _work(c, refs)),
        "project": (data.projects, lambda p: _work(p, refs)),
    }
    written = {}
    for resource, name in FILES:
        columns = list(import_columns(resource))
        items, shape = rows[resource]
        with (folder / name).open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(columns)
            # The csv module writes None as an empty cell, dates and numbers with str().
            for item in items:
                cells = shape(item)
                writer.writerow([cells.get(column) for column in columns])
        written[name] = len(items)
    return written


def _actor(actor: ActorRow, refs: list[str]) -> dict[str, Any]:
    return {
        "id": actor.ref,
        "kind": actor.kind,
        "name": actor.name,
        "acronym": actor.acronym,
        "level": actor.level,
        "country": actor.country,
        "insee_code": actor.insee_code,
        "latitude": actor.latitude,
        "longitude": actor.longitude,
        "population": actor.population,
        "based_in": None if actor.based_in is None else refs[actor.based_in],
        "origins": _join([refs[o] for o in actor.origins]),
        "intervention_countries": _join(actor.intervention_countries),
        "themes": _join(actor.themes),
        "description": actor.description,
    }


def _relationship(relationship: RelationshipRow, refs: list[str]) -> dict[str, Any]:
    return {
        "id": relationship.ref,
        "kind": relationship.kind,
        "subject": refs[relationship.subject],
        "object": refs[relationship.object],
        "starts_on": relationship.starts_on,
    }


def _work(work: WorkRow, refs: list[str]) -> dict[str, Any]:
    parties = [f"{refs[actor]}{ROLE_SEPARATOR}{role}" for actor, role in work.parties]
    cells = {
        "id": work.ref,
        "title": work.title,
        "target": None if work.target is None else refs[work.target],
        "themes": _join(work.themes),
        "starts_on": work.starts_on,
        "ends_on": work.ends_on,
        "status": work.status,
        "budget_amount": None if work.budget is None else f"{work.budget}.00",
        "budget_currency": None if work.budget is None else work.currency,
        "description": work.description,
    }
    if work.lead is None:
        cells |= {
            "kind": work.kind,
            "parties": _join(parties),
            "signed_on": work.signed_on,
        }
    else:
        cells |= {
            "lead": refs[work.lead],
            "partners": _join(parties),
            "convention": work.convention,
        }
    return cells
