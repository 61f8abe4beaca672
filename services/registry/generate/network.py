"""The cooperation network among local authorities, shaped like the real sister-city network.

The published statistics of the real network (KONECT "twin", from Wikidata's twinned
administrative bodies) are the target: a heavy-tailed degree distribution (mean 2.88, largest
99, about half of the places with a single tie), global clustering 0.111 and degree
assortativity +0.39. It is built in five steps, all drawn from one seeded generator (the
parameters are `NetworkParams`; docs/generator.md has the figures they give):

1. **French degrees.** The French authorities that cooperate are the most inclined ones
   (population, plus noise; régions and départements more often). Their numbers of foreign
   partners are drawn from a discrete power law with an exponential cut-off, the largest ones
   going to the most inclined, and the very largest is set to the maximum of the scale.
2. **Countries.** Each French tie picks a partner country with the country's weight (France
   pairs most with Germany, Italy, the UK, Spain, Poland, Senegal, Mali, Burkina Faso…), times
   the preference of the authority's région (Grand Est for Germany and Luxembourg, Brittany for
   the British Isles, Île-de-France for Mali and Senegal, La Réunion for Madagascar…); an
   authority rarely has several partners in one country.
3. **Foreign places and assortative matching.** In each country, the French ties are sorted
   by their authority's degree (with noise), largest first, and grouped by région within a band
   of degrees; foreign places are cut from that list in order, each taking about
   0.7 · d^0.72 consecutive ties of authorities of degree d. So large towns pair with large
   towns, and small ones often with a single small partner (isolated pairs), as in the real
   network (positive assortativity); and a foreign place's several French partners are often
   of one région — which is where uncoordinated territories end up sharing a target
   (hotspots). A pair drawn twice swaps partners with a neighbour in the list.
4. **Charters and co-signatures.** A few multilateral twinning charters (one French town and
   well-connected towns of several countries, all tied together), and conventions a large
   town co-signs with its département or intercommunality.
5. **Triangles.** Triangular agreements are added until the global clustering reaches its
   target: a place, chosen in proportion to its pairs of partners, joins two of its partners
   (the better connected more often) in one agreement — a triangular twinning, or two French
   authorities working together with one foreign town — if that closes at least as many
   triples as it opens, relative to the target; the bilateral agreements it merges are dropped.

`Agreement`s are the result: the parties of each future convention, with its target.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from services.registry.generate.reference import AFFINITIES, Country

__all__ = ["Agreement", "FrenchNode", "Network", "NetworkParams", "build_network", "power_law"]


@dataclass(frozen=True)
class NetworkParams:
    # French authorities that cooperate, as a share of the data set's actors; noise (log10 of
    # population) on who cooperates, and on who has the most partners.
    french_share: float = 0.12
    participation_noise: float = 0.6
    degree_noise: float = 0.25
    # Degree laws: P(k) ∝ k^-alpha · exp(-k / cutoff), for French and foreign places.
    french_alpha: float = 1.55
    french_cutoff: float = 19.0
    # A foreign place takes about scale · d^power ties of French authorities of degree d.
    foreign_scale: float = 0.7
    foreign_power: float = 0.72
    foreign_noise: float = 0.3
    foreign_max_share: float = 0.6
    # Largest degree at 100,000 actors, and how it shrinks with the data set.
    max_degree: int = 99
    max_degree_exponent: float = 0.35
    # Noise on log-degree when sorting for the matching (lower: more assortative).
    sort_noise: float = 0.35
    band_width: float = 0.7
    # Chance that a French authority takes a second partner in a country it already has one.
    repeat_country: float = 0.3
    # Multilateral charters per 1,000 cooperating places, and their largest size.
    charters_per_thousand: float = 0.6
    charter_max: int = 22
    # Global clustering (closed triples) that triangular agreements are added to reach.
    clustering: float = 0.111
    # How much a place's degree weighs when choosing which two partners close a triangle.
    closing_preference: float = 1.0
    # Share of communes' cooperation conventions their département or EPCI co-signs.
    cosigned: float = 0.06
    cosign_min_degree: int = 4
    cosign_max: int = 8


@dataclass(frozen=True)
class FrenchNode:
    id: int
    level: str
    department: str
    region: str
    epci: int | None
    inclination: float  # larger: more likely to cooperate, and with more partners


@dataclass
class Agreement:
    parties: list[int]
    kind: str  # bilateral, triangle, cosigned, charter
    target: int | None = None


@dataclass
class Network:
    # Foreign places: id → country code, in creation order.
    foreign: dict[int, str] = field(default_factory=dict)
    agreements: list[Agreement] = field(default_factory=list)
    # French authority id → degree drawn for it (its foreign ties before triangles).
    french_degree: dict[int, int] = field(default_factory=dict)

    def pairs(self) -> list[tuple[int, int]]:
        """Every tie between two places, once."""
        seen: set[tuple[int, int]] = set()
        out = []
        for agreement in self.agreements:
            parties = agreement.parties
            for i, a in enumerate(parties):
                for b in parties[i + 1 :]:
                    key = (a, b) if a < b else (b, a)
                    if key not in seen:
                        seen.add(key)
                        out.append(key)
        return out


def power_law(alpha: float, cutoff: float, largest: int) -> np.ndarray:
    """P(k) for k = 1..largest (index k-1), ∝ k^-alpha · exp(-k / cutoff)."""
    k = np.arange(1, largest + 1, dtype=float)
    weights = k**-alpha * np.exp(-k / cutoff)
    return weights / weights.sum()


def largest_degree(params: NetworkParams, actors: int) -> int:
    scale = min(1.0, actors / 100_000) ** params.max_degree_exponent
    return max(8, round(params.max_degree * scale))


def build_network(
    rng: np.random.Generator,
    french: list[FrenchNode],
    countries: tuple[Country, ...],
    params: NetworkParams,
    actors: int,
    first_foreign_id: int,
) -> Network:
    """Agreements among French authorities (`french`) and foreign places created here, with
    ids from `first_foreign_id` on."""
    network = Network()
    kmax = largest_degree(params, actors)
    participants = _participants(rng, french, params, actors)
    degrees = _french_degrees(rng, participants, params, kmax)
    network.french_degree = dict(zip((n.id for n in participants), degrees, strict=True))
    by_country = _countries_of_ties(rng, participants, degrees, countries, params)
    next_id = first_foreign_id
    foreign_degree: dict[int, int] = {}
    region_of = {n.id: n.region for n in participants}
    french_degree = network.french_degree
    noise = {n.id: rng.normal() for n in participants}
    foreign_cap = max(2, round(kmax * params.foreign_max_share))
    for country in countries:
        stubs = by_country.get(country.iso)
        if not stubs:
            continue
        ordered = _order(rng, stubs, french_degree, noise, region_of, params)
        places: list[int] = []
        sizes: list[int] = []
        start = 0
        while start < len(ordered):
            typical = params.foreign_scale * french_degree[ordered[start]] ** params.foreign_power
            size = round(typical * np.exp(params.foreign_noise * rng.normal()))
            size = int(min(max(size, 1), foreign_cap, len(ordered) - start))
            places.append(next_id)
            sizes.append(size)
            network.foreign[next_id] = country.iso
            foreign_degree[next_id] = size
            next_id += 1
            start += size
        targets = [place for place, size in zip(places, sizes, strict=True) for _ in range(size)]
        for fr, place in _untie(rng, list(zip(ordered, targets, strict=True))):
            network.agreements.append(Agreement([fr, place], "bilateral", target=place))
    _charters(rng, network, participants, countries, foreign_degree, params, kmax, actors)
    _cosign(rng, network, french, params, kmax)
    _close_triangles(rng, network, params, kmax)
    return network


def _participants(
    rng: np.random.Generator, french: list[FrenchNode], params: NetworkParams, actors: int
) -> list[FrenchNode]:
    """The French authorities that cooperate: the most inclined, with noise (small towns too
    have twinnings), in order of inclination with less noise (who gets the most partners)."""
    count = min(len(french), max(4, round(params.french_share * actors)))
    inclination = np.array([n.inclination for n in french])
    chosen = np.argsort(
        -(inclination + rng.normal(0, params.participation_noise, len(french))), kind="stable"
    )[:count]
    ranked = inclination[chosen] + rng.normal(0, params.degree_noise, len(chosen))
    return [french[chosen[i]] for i in np.argsort(-ranked, kind="stable")]


def _french_degrees(
    rng: np.random.Generator, participants: list[FrenchNode], params: NetworkParams, kmax: int
) -> list[int]:
    """Degrees drawn from the French law, in order: the largest to the first participant."""
    law = power_law(params.french_alpha, params.french_cutoff, kmax)
    drawn = np.sort(rng.choice(np.arange(1, kmax + 1), size=len(participants), p=law))[::-1]
    drawn[0] = kmax
    return [int(d) for d in drawn]


def _countries_of_ties(
    rng: np.random.Generator,
    participants: list[FrenchNode],
    degrees: list[int],
    countries: tuple[Country, ...],
    params: NetworkParams,
) -> dict[str, list[int]]:
    """Each French tie's partner country: the country's weight times the région's preference;
    a second partner in the same country is taken only sometimes."""
    codes = [c.iso for c in countries]
    base = np.array([c.weight for c in countries], dtype=float)
    by_region: dict[str, np.ndarray] = {}
    out: dict[str, list[int]] = defaultdict(list)
    for node, degree in zip(participants, degrees, strict=True):
        if node.region not in by_region:
            weights = base.copy()
            for code, factor in AFFINITIES.get(node.region, {}).items():
                weights[codes.index(code)] *= factor
            by_region[node.region] = np.cumsum(weights / weights.sum())
        cumulative = by_region[node.region]
        taken: dict[int, int] = {}
        draws = rng.random(degree * 4 + 4)
        used = 0
        for _ in range(degree):
            choice = -1
            for _attempt in range(4):
                choice = min(int(np.searchsorted(cumulative, draws[used])), len(codes) - 1)
                used += 1
                if choice not in taken or draws[used] < params.repeat_country:
                    break
            used += 1
            taken[choice] = taken.get(choice, 0) + 1
        for choice, count in sorted(taken.items()):
            out[codes[choice]].extend([node.id] * count)
    return out


def _order(
    rng: np.random.Generator,
    stubs: list[int],
    french_degree: dict[int, int],
    noise: dict[int, float],
    region_of: dict[int, str],
    params: NetworkParams,
) -> list[int]:
    """A country's French ties by degree (with noise), largest first, grouped by région
    within a band of degrees."""
    regions = sorted({region_of[s] for s in stubs})
    region_rank = {r: i for i, r in enumerate(rng.permutation(regions).tolist())}
    stub_noise = rng.random(len(stubs))
    keys = [
        (
            -np.floor(
                (np.log(french_degree[s]) + params.sort_noise * noise[s]) / params.band_width
            ),
            region_rank[region_of[s]],
            stub_noise[i],
        )
        for i, s in enumerate(stubs)
    ]
    return [stubs[i] for i in sorted(range(len(stubs)), key=keys.__getitem__)]


def _untie(rng: np.random.Generator, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pairs, each once: a pair drawn twice swaps its foreign end with a nearby pair's."""
    # Untie pairs drawn twice by swapping their foreign end with a nearby tie's.
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for pair in pairs:
        counts[pair] += 1
    for i in range(len(pairs)):
        if counts[pairs[i]] <= 1:
            continue
        fr, place = pairs[i]
        for _attempt in range(30):
            j = int(rng.integers(max(0, i - 60), min(len(pairs), i + 61)))
            other_fr, other_place = pairs[j]
            mine, theirs = (fr, other_place), (other_fr, place)
            if other_fr == fr or other_place == place or counts[mine] or counts[theirs]:
                continue
            counts[pairs[i]] -= 1
            counts[pairs[j]] -= 1
            pairs[i], pairs[j] = mine, theirs
            counts[mine] += 1
            counts[theirs] += 1
            break
    return list(dict.fromkeys(pairs))


def _charters(
    rng: np.random.Generator,
    network: Network,
    participants: list[FrenchNode],
    countries: tuple[Country, ...],
    foreign_degree: dict[int, int],
    params: NetworkParams,
    kmax: int,
    actors: int,
) -> None:
    """Multilateral twinning charters: one French town and towns of several other countries,
    all tied together, chosen among the well-connected (as the real network's clubs are)."""
    places = len(network.foreign) + len(participants)
    count = round(params.charters_per_thousand * places / 1000)
    if count == 0:
        return
    style = {c.iso: c.style for c in countries}
    candidates = [p for p, code in network.foreign.items() if style[code] != "coop"]
    if not candidates:
        return
    weights = np.array([foreign_degree[p] ** 1.5 for p in candidates], dtype=float)
    weights /= weights.sum()
    french_ids = [n.id for n in participants if network.french_degree[n.id] >= 2]
    french_weights = np.array([network.french_degree[i] ** 1.5 for i in french_ids], dtype=float)
    french_weights /= french_weights.sum()
    degree = defaultdict(int)
    for a, b in network.pairs():
        degree[a] += 1
        degree[b] += 1
    largest = max(4, round(params.charter_max * min(1.0, actors / 100_000) ** 0.35))
    sizes = np.minimum(3 + rng.zipf(1.8, size=count), largest)
    for size in sizes:
        fr = int(rng.choice(french_ids, p=french_weights))
        if degree[fr] + size > kmax:
            continue
        members, countries_in = [fr], set()
        for place in rng.choice(candidates, size=min(len(candidates), 6 * size), p=weights):
            place = int(place)
            code = network.foreign[place]
            if code in countries_in or place in members or degree[place] + size > kmax:
                continue
            countries_in.add(code)
            members.append(place)
            if len(members) == size:
                break
        if len(members) >= 3:
            for member in members:
                degree[member] += len(members) - 1
            network.agreements.append(Agreement(members, "charter"))


def _cosign(
    rng: np.random.Generator,
    network: Network,
    french: list[FrenchNode],
    params: NetworkParams,
    kmax: int,
) -> None:
    """A share of communes' cooperation conventions are co-signed by their département, or by
    their intercommunality, when it takes part in cooperation too."""
    by_id = {n.id: n for n in french}
    department_of = {(n.department): n.id for n in french if n.level == "department"}
    degree = defaultdict(int)
    for a, b in network.pairs():
        degree[a] += 1
        degree[b] += 1
    cosigned: dict[int, int] = defaultdict(int)
    for agreement in network.agreements:
        if agreement.kind != "bilateral":
            continue
        node = by_id.get(agreement.parties[0])
        if (
            node is None
            or node.level != "municipality"
            or network.french_degree.get(node.id, 0) < params.cosign_min_degree
            or rng.random() >= params.cosigned
        ):
            continue
        cosigner = node.epci if node.epci is not None and rng.random() < 0.4 else None
        if cosigner is None:
            cosigner = department_of.get(node.department)
        if (
            cosigner is None
            or degree[cosigner] + 2 > kmax
            or cosigned[cosigner] >= params.cosign_max
        ):
            continue
        cosigned[cosigner] += 1
        agreement.parties = [agreement.parties[0], cosigner, agreement.parties[1]]
        agreement.kind = "cosigned"
        degree[cosigner] += 2
        degree[agreement.parties[0]] += 1
        degree[agreement.parties[2]] += 1


def _close_triangles(
    rng: np.random.Generator, network: Network, params: NetworkParams, kmax: int
) -> None:
    """Triangular agreements until the global clustering reaches its target: a place with
    several partners (chosen in proportion to its pairs of partners, so mostly the
    well-connected) joins two of them, the better-connected more often, in one agreement of
    the three — a triangular twinning, or two French authorities working together with one
    foreign town. The bilateral agreements it replaces are dropped."""
    adjacency: dict[int, set[int]] = defaultdict(set)
    for a, b in network.pairs():
        adjacency[a].add(b)
        adjacency[b].add(a)
    bilateral: dict[tuple[int, int], int] = {}
    for index, agreement in enumerate(network.agreements):
        if agreement.kind == "bilateral":
            a, b = agreement.parties
            bilateral[(min(a, b), max(a, b))] = index
    triangles = (
        sum(len(adjacency[a] & adjacency[b]) for a in adjacency for b in adjacency[a] if a < b) // 3
    )
    triples = sum(len(n) * (len(n) - 1) // 2 for n in adjacency.values())
    nodes = sorted(adjacency)
    dropped: set[int] = set()
    added: list[Agreement] = []
    stalled = 0
    while triples and 3 * triangles / triples < params.clustering and stalled < 2000:
        weights = np.array([len(adjacency[n]) * (len(adjacency[n]) - 1) for n in nodes], float)
        centres = rng.choice(nodes, size=500, p=weights / weights.sum())
        for centre in centres:
            centre = int(centre)
            partners = sorted(adjacency[centre])
            chances = np.array([len(adjacency[p]) for p in partners], float)
            chances = chances**params.closing_preference
            b, c = (
                int(x) for x in rng.choice(partners, 2, replace=False, p=chances / chances.sum())
            )
            closed = len(adjacency[b] & adjacency[c])
            opened = len(adjacency[b]) + len(adjacency[c])
            if (
                c in adjacency[b]
                or max(len(adjacency[b]), len(adjacency[c])) >= kmax
                # A tie between two places with many partners and few in common opens more
                # triples than it closes: it would move the clustering away from its target.
                or 3 * closed < 2 * params.clustering * opened
            ):
                stalled += 1
                continue
            stalled = 0
            triangles += closed
            triples += opened
            adjacency[b].add(c)
            adjacency[c].add(b)
            for other in (b, c):
                index = bilateral.pop((min(centre, other), max(centre, other)), None)
                if index is not None:
                    dropped.add(index)
            target = next((p for p in (centre, b, c) if p in network.foreign), None)
            added.append(Agreement([centre, b, c], "triangle", target=target))
            if 3 * triangles / triples >= params.clustering:
                break
    network.agreements = [a for i, a in enumerate(network.agreements) if i not in dropped] + added
