"""Turning graph nodes into API shapes, for every router of the matching service."""

import uuid

from services.matching import hotspots
from services.matching.federations import Proposal, explain
from services.matching.graph import CooperationGraph
from services.matching.overlaps import Hotspot
from services.matching.schemas import ActorSummary, FederationRead, HotspotRead
from shared.errors import NotFound

__all__ = ["actor_summary", "federation_read", "hotspot_read", "known_actor"]


def actor_summary(graph: CooperationGraph, actor_id: str) -> ActorSummary:
    return hotspots.actor_summary(graph.g.nodes, actor_id)


def known_actor(graph: CooperationGraph, actor_id: uuid.UUID) -> str:
    """The graph key of a live actor, or a 404."""
    key = str(actor_id)
    if not graph.has_actor(key):
        raise NotFound(f"No actor {actor_id} in the graph (unknown, or deleted from the registry).")
    return key


def hotspot_read(graph: CooperationGraph, spot: Hotspot) -> HotspotRead:
    return hotspots.hotspot_read(spot, graph.g.nodes)


def federation_read(graph: CooperationGraph, proposal: Proposal) -> FederationRead:
    return hotspots.federation_read(proposal, graph.g.nodes, explain(graph, proposal))
