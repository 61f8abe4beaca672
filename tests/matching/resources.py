"""Registry resources as the matching service receives them, built small for graph tests."""

from typing import Any

from services.matching.evaluate import _unchecked
from shared.records import ActorRecord, ConventionRecord, ProjectRecord, RelationshipRecord

__all__ = ["actor", "convention", "project", "record", "relationship"]

_MODELS = {
    "actor": ActorRecord,
    "convention": ConventionRecord,
    "project": ProjectRecord,
    "relationship": RelationshipRecord,
}


def record(resource_type: str, data: Any) -> Any:
    """A record of the contract from the registry's JSON shape, with readable ids ("evry")
    instead of UUIDs so that graph tests read like the situation they describe."""
    if not isinstance(data, dict):
        return data
    return _unchecked(_MODELS[resource_type], data)


def project(data: dict[str, Any]) -> Any:
    return record("project", data)


def relationship(data: dict[str, Any]) -> Any:
    return record("relationship", data)


def actor(actor_id: str, kind: str = "local_authority", **fields: Any) -> Any:
    """A local authority (or another kind) as an actor record."""
    return record(
        "actor",
        {
            "id": actor_id,
            "version": 1,
            "kind": kind,
            "name": actor_id.title(),
            "country": "FR",
            "level": "municipality" if kind == "local_authority" else None,
            "themes": ["water_sanitation"],
        }
        | fields,
    )


def convention(convention_id: str, *parties: str, **fields: Any) -> Any:
    """An active water convention between `parties`, as a convention record."""
    return record(
        "convention",
        {
            "id": convention_id,
            "version": 1,
            "status": "active",
            "themes": ["water_sanitation"],
            "parties": [{"actor_id": party, "role": "signatory"} for party in parties],
            "target_id": None,
            "starts_on": "2020-01-01",
            "ends_on": None,
        }
        | fields,
    )
