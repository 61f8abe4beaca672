"""Registry resources as the matching service receives them, built small for graph tests."""

from typing import Any

__all__ = ["actor", "convention"]


def actor(actor_id: str, kind: str = "local_authority", **fields: Any) -> dict[str, Any]:
    """A local authority (or another kind) in the registry's JSON shape."""
    return {
        "id": actor_id,
        "version": 1,
        "kind": kind,
        "name": actor_id.title(),
        "country": "FR",
        "level": "municipality" if kind == "local_authority" else None,
        "themes": ["water_sanitation"],
    } | fields


def convention(convention_id: str, *parties: str, **fields: Any) -> dict[str, Any]:
    """An active water convention between `parties`, in the registry's JSON shape."""
    return {
        "id": convention_id,
        "version": 1,
        "status": "active",
        "themes": ["water_sanitation"],
        "parties": [{"actor_id": party, "role": "signatory"} for party in parties],
        "target_id": None,
        "starts_on": "2020-01-01",
        "ends_on": None,
    } | fields
