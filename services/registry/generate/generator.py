"""Generate a synthetic data set: plan the counts, build territories, the network, organisations
and their work, write the import files and a manifest of what was made."""

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from services.registry.generate.agreements import add_agreements, focus_themes
from services.registry.generate.model import DataSet
from services.registry.generate.network import NetworkParams, build_network
from services.registry.generate.organisations import Counts, add_organisations
from services.registry.generate.periods import REFERENCE_DATE, Picker
from services.registry.generate.projects import add_projects, describe_activity
from services.registry.generate.reference import load_reference
from services.registry.generate.stats import network_statistics
from services.registry.generate.territories import add_foreign_places, add_french_authorities
from services.registry.generate.writer import FILES, write_files
from shared.text import fold

__all__ = ["MIN_ACTORS", "STEPS", "build", "generate", "graph_ties", "hotspot_candidates"]

MIN_ACTORS = 500
# Shares of the data set's actors (the rest are associations based in French towns).
COMMUNES = 0.29
INTERCOMMUNALITIES = 0.01
MIGRANT_ORGANISATIONS = 0.10
FOREIGN_ASSOCIATIONS = 0.04
NETWORKS = 0.012
RESOURCE_CENTRES = 0.003

STEPS = (
    "French authorities",
    "cooperation network",
    "foreign authorities",
    "conventions",
    "organisations",
    "projects",
    "files",
    "statistics",
)


def build(actors: int, seed: int, step: Callable[[str], None] | None = None) -> DataSet:
    """The data set in memory; `step` is called as each step starts (for a progress bar)."""
    if actors < MIN_ACTORS:
        raise ValueError(f"a data set has at least {MIN_ACTORS} actors")
    advance = step or (lambda _name: None)
    reference = load_reference()
    countries = {c.iso: c for c in reference.countries}
    rng = np.random.default_rng(seed)
    picker = Picker(rng)
    data = DataSet()
    advance(STEPS[0])
    france = add_french_authorities(
        rng,
        reference,
        data,
        communes=round(COMMUNES * actors),
        epcis=max(1, round(INTERCOMMUNALITIES * actors)),
    )
    advance(STEPS[1])
    network = build_network(
        rng, france.nodes, reference.countries, NetworkParams(), actors, len(data.actors)
    )
    advance(STEPS[2])
    places_by_country = add_foreign_places(rng, reference, data, network)
    advance(STEPS[3])
    focus = focus_themes(picker, data, sorted(network.foreign), countries)
    add_agreements(rng, picker, data, network, countries, focus)
    pairs = network.pairs()
    partners_of: dict[int, list[int]] = defaultdict(list)
    for a, b in pairs:
        if (data.actors[a].country == "FR") != (data.actors[b].country == "FR"):
            french, foreign = (a, b) if data.actors[a].country == "FR" else (b, a)
            partners_of[french].append(foreign)
    partners_of = {k: sorted(v) for k, v in sorted(partners_of.items())}
    advance(STEPS[4])
    counts = Counts(
        associations=0,
        foreign_associations=round(FOREIGN_ASSOCIATIONS * actors),
        migrant_organisations=round(MIGRANT_ORGANISATIONS * actors),
        networks=max(3, round(NETWORKS * actors)),
        resource_centres=max(2, round(RESOURCE_CENTRES * actors)),
        total=actors,
    )
    others = (
        counts.foreign_associations
        + counts.migrant_organisations
        + counts.networks
        + counts.resource_centres
    )
    associations = actors - len(data.actors) - others
    if associations < 0.05 * actors:
        raise ValueError(f"{actors} actors leave too little room for associations")
    counts = Counts(**{**counts.__dict__, "associations": associations})
    orgs = add_organisations(
        rng, picker, reference, data, france, places_by_country, partners_of, countries, counts
    )
    for association in orgs.associations:
        actor = data.actors[association]
        if actor.country == "FR":
            actor.intervention_countries = [orgs.focus_country[association]]
    advance(STEPS[5])
    add_projects(
        rng,
        picker,
        data,
        france,
        orgs,
        partners_of,
        set(pairs),
        focus,
        countries,
        places_by_country,
    )
    describe_activity(data)
    _distinct_titles(data)
    return data


def _distinct_titles(data: DataSet) -> None:
    """No two conventions with the same kind, parties and title, no two projects with the same
    lead and title (compared as the import does): the import takes such a row for the same
    record as the one before it, so the second one is numbered."""
    seen: set[tuple[object, ...]] = set()
    for work in data.conventions + data.projects:
        if work.lead is None:
            key: tuple[object, ...] = (work.kind, frozenset(a for a, _ in work.parties))
        else:
            key = ("project", work.lead)
        title, number = work.title, 1
        while (*key, fold(title)) in seen:
            number += 1
            title = f"{work.title} ({number})"
        seen.add((*key, fold(title)))
        work.title = title


def authority_pairs(data: DataSet) -> list[tuple[int, int]]:
    """Pairs of local authorities that are parties of one convention or project (the
    matching graph's `cooperates_with` ties among them): the network the statistics describe."""
    authority = [a.kind == "local_authority" for a in data.actors]
    pairs: dict[tuple[int, int], None] = {}
    for work in data.conventions + data.projects:
        members = [m for m in work.members() if authority[m]]
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs[(min(a, b), max(a, b))] = None
    return list(pairs)


def graph_ties(data: DataSet) -> int:
    """Ties as the matching service's graph counts them (services/matching/graph.py): pairs of
    actors tied by a convention or project (its members, and each member with its target unless
    it is a draft), a relationship, a based-in or an origin."""
    pairs: set[tuple[int, int]] = set()

    def tie(a: int, b: int) -> None:
        if a != b:
            pairs.add((a, b) if a < b else (b, a))

    for index, actor in enumerate(data.actors):
        if actor.based_in is not None:
            tie(index, actor.based_in)
        for origin in actor.origins:
            tie(index, origin)
    for relationship in data.relationships:
        tie(relationship.subject, relationship.object)
    for work in data.conventions + data.projects:
        members = work.members()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                tie(a, b)
        if work.target is not None and work.status != "draft":
            for member in members:
                tie(member, work.target)
    return len(pairs)


def hotspot_candidates(data: DataSet) -> int:
    """(target, theme) pairs on which actors of at least two French départements are active
    through separate or shared work: where the matching service looks for hotspots (it then
    keeps those with an uncoordinated pair)."""
    actors = data.actors

    def home(index: int) -> str:
        actor = actors[index]
        territory = actors[actor.based_in] if actor.based_in is not None else actor
        if territory.country == "FR" and territory.level in ("municipality", "department"):
            return territory.department or str(index)
        return str(actor.based_in if actor.based_in is not None else index)

    homes: dict[tuple[int, str], set[str]] = defaultdict(set)
    for work in data.conventions + data.projects:
        if work.target is None or work.status == "draft":
            continue
        for member in work.members():
            if member == work.target:
                continue
            actor = actors[member]
            if actor.kind != "local_authority" and actor.based_in is None:
                continue
            for theme in work.themes:
                homes[(work.target, theme)].add(home(member))
    return sum(1 for found in homes.values() if len(found) >= 2)


def generate(
    actors: int, seed: int, out: Path, step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Write the data set's files into `out` and return its manifest (also written there)."""
    advance = step or (lambda _name: None)
    data = build(actors, seed, advance)
    advance(STEPS[6])
    rows = write_files(data, out)
    advance(STEPS[7])
    by_kind: dict[str, int] = defaultdict(int)
    for actor in data.actors:
        key = actor.kind
        if actor.kind == "local_authority":
            key += f" ({'FR' if actor.country == 'FR' else 'foreign'}, {actor.level})"
        by_kind[key] += 1
    manifest = {
        "generator": "passerelles generate",
        "actors": actors,
        "seed": seed,
        "reference_date": REFERENCE_DATE.isoformat(),
        "files": [
            {"file": name, "resource": resource, "rows": rows[name]} for resource, name in FILES
        ],
        "actors_by_kind": dict(sorted(by_kind.items())),
        "countries": len({a.country for a in data.actors}),
        "authority_network": network_statistics(authority_pairs(data)),
        "graph_ties": graph_ties(data),
        "hotspot_candidates": hotspot_candidates(data),
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest
