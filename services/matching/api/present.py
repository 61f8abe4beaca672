"""Turning graph nodes into API shapes, for every router of the matching service."""

import uuid

from services.matching.federations import Proposal, explain
from services.matching.graph import COUNTRY_PREFIX, CooperationGraph
from services.matching.overlaps import Hotspot
from services.matching.schemas import (
    ActorSummary,
    EngagedActor,
    EngagementTie,
    FederationRead,
    HotspotRead,
    UncoordinatedPair,
)
from shared.errors import NotFound

__all__ = ["actor_summary", "federation_read", "hotspot_read", "known_actor"]


def actor_summary(graph: CooperationGraph, actor_id: str) -> ActorSummary:
    node = graph.actor(actor_id)
    return ActorSummary(
        id=None if actor_id.startswith(COUNTRY_PREFIX) else uuid.UUID(actor_id),
        name=node["name"],
        kind=node["kind"],
        level=node.get("level"),
        country=node["country"],
    )


def known_actor(graph: CooperationGraph, actor_id: uuid.UUID) -> str:
    """The graph key of a live actor, or a 404."""
    key = str(actor_id)
    if not graph.has_actor(key):
        raise NotFound(f"No actor {actor_id} in the graph (unknown, or deleted from the registry).")
    return key


def hotspot_read(graph: CooperationGraph, spot: Hotspot) -> HotspotRead:
    return HotspotRead(
        target=actor_summary(graph, spot.target),
        theme=spot.theme,
        competition_index=spot.index,
        actors=[
            EngagedActor(
                actor=actor_summary(graph, actor),
                home_territory=spot.homes[actor],
                ties=[
                    EngagementTie(
                        source_type=tie.source.split(":")[0],
                        source_id=uuid.UUID(tie.source.split(":")[1]),
                        themes=sorted(tie.themes),
                        starts_on=tie.starts_on,
                        ends_on=tie.ends_on,
                        active=tie.active,
                    )
                    for tie in engagement.ties
                ],
            )
            for actor, engagement in sorted(spot.engagements.items())
        ],
        uncoordinated_pairs=[
            UncoordinatedPair(
                a=uuid.UUID(pair.a),
                b=uuid.UUID(pair.b),
                weight=pair.weight,
                theme_overlap=pair.theme_overlap,
                period_overlap=pair.period_overlap,
                activity=pair.activity,
            )
            for pair in spot.pairs
        ],
    )


def federation_read(graph: CooperationGraph, proposal: Proposal) -> FederationRead:
    def summaries(ids: list[str]) -> list[ActorSummary]:
        return [actor_summary(graph, actor) for actor in ids]

    return FederationRead(
        id=uuid.UUID(proposal.id),
        target=actor_summary(graph, proposal.target),
        themes=proposal.themes,
        members=summaries(proposal.members),
        migrant_organisations=summaries(proposal.migrant_organisations),
        associations=summaries(proposal.associations),
        coordinator=actor_summary(graph, proposal.coordinator),
        coordinator_reason=proposal.coordinator_reason,
        competition_index_before=proposal.index_before,
        competition_index_after=proposal.index_after,
        reduction=proposal.reduction,
        left_out=summaries(proposal.left_out),
        explanation=explain(graph, proposal),
    )
