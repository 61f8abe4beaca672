"""Local authorities: French communes, intercommunalities, départements and régions from INSEE's
reference data, and foreign places in many countries."""

import math
from dataclasses import dataclass, field

import numpy as np

from services.registry.generate.model import ActorRow, DataSet
from services.registry.generate.names import PlaceNamer
from services.registry.generate.network import FrenchNode, Network
from services.registry.generate.reference import POOL_ONLY, Commune, Country, Reference
from services.registry.generate.text import of

__all__ = ["France", "add_foreign_places", "add_french_authorities"]

# How the name of a foreign authority above the town level reads, by language.
_PROVINCE = {
    "fr": "Région {of}",
    "de": "Landkreis {name}",
    "it": "Provincia di {name}",
    "es": "Provincia de {name}",
    "pt": "Distrito de {name}",
    "pl": "Powiat {name}",
    "ro": "Județul {name}",
    "hu": "{name} megye",
    "cs": "Kraj {name}",
    "en": "Province of {name}",
}


@dataclass
class France:
    """The French authorities of the data set, by level, as indexes of `DataSet.actors`."""

    communes: list[int] = field(default_factory=list)
    intercommunalities: list[int] = field(default_factory=list)
    departments: dict[str, int] = field(default_factory=dict)
    regions: dict[str, int] = field(default_factory=dict)
    epci_of: dict[int, int] = field(default_factory=dict)
    nodes: list[FrenchNode] = field(default_factory=list)


def _coordinates(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def add_french_authorities(
    rng: np.random.Generator, reference: Reference, data: DataSet, communes: int, epcis: int
) -> France:
    france = France()
    chosen = _choose_communes(rng, reference, communes)
    departments = sorted({c.department for c in chosen})
    regions = sorted({reference.departments[d].region for d in departments})
    population_of_department: dict[str, int] = {}
    population_of_region: dict[str, int] = {}
    for commune in reference.communes:
        population_of_department[commune.department] = (
            population_of_department.get(commune.department, 0) + commune.population
        )
        population_of_region[commune.region] = (
            population_of_region.get(commune.region, 0) + commune.population
        )
    for code in regions:
        region = reference.regions[code]
        france.regions[code] = data.add(
            ActorRow(
                ref=f"fr-reg-{code}",
                kind="local_authority",
                name=f"Région {region.name}",
                country="FR",
                level="region",
                insee_code=code,
                latitude=region.lat,
                longitude=region.lng,
                population=population_of_region.get(code),
                description=f"Conseil régional {region.name_de}.",
                region=code,
            )
        )
    for code in departments:
        department = reference.departments[code]
        region = reference.regions[department.region]
        france.departments[code] = data.add(
            ActorRow(
                ref=f"fr-dep-{code}",
                kind="local_authority",
                name=f"Département {department.name_de}",
                country="FR",
                level="department",
                insee_code=code,
                latitude=department.lat,
                longitude=department.lng,
                population=population_of_department.get(code),
                description=f"Conseil départemental {department.name_de}, "
                f"région {region.name} ({region.insee}).",
                department=code,
                region=department.region,
            )
        )
    seats = _intercommunality_seats(rng, chosen, epcis)
    members = _members(chosen, seats)
    for number, seat in enumerate(seats, start=1):
        department = reference.departments[seat.department]
        population = sum(c.population for c in members[seat.insee])
        if seat.population >= 200_000:
            name = f"{seat.name} Métropole"
        elif population >= 50_000:
            name = f"Communauté d'agglomération {of(seat.name)}"
        else:
            name = f"Communauté de communes {of(seat.name)}"
        france.intercommunalities.append(
            data.add(
                ActorRow(
                    ref=f"fr-epci-{number:04d}",
                    kind="local_authority",
                    name=name,
                    country="FR",
                    level="intermunicipality",
                    latitude=_coordinates(seat.lat),
                    longitude=_coordinates(seat.lng),
                    population=population,
                    description=f"Intercommunalité {department.name_de} ({department.insee}); "
                    f"siège : {seat.name}.",
                    department=seat.department,
                    region=seat.region,
                )
            )
        )
    epci_by_seat = {
        seat.insee: index for seat, index in zip(seats, france.intercommunalities, strict=True)
    }
    seat_of = {c.insee: seat for seat, found in members.items() for c in found}
    for commune in chosen:
        department = reference.departments[commune.department]
        region = reference.regions[commune.region]
        epci = epci_by_seat.get(seat_of.get(commune.insee, ""))
        description = (
            f"Commune {department.name_de} ({department.insee}), région {region.name} "
            f"({region.insee})"
        )
        if epci is not None:
            description += f" ; intercommunalité : {data.actors[epci].name}"
        index = data.add(
            ActorRow(
                ref=f"fr-com-{commune.insee}",
                kind="local_authority",
                name=commune.name,
                country="FR",
                level="municipality",
                insee_code=commune.insee,
                latitude=_coordinates(commune.lat),
                longitude=_coordinates(commune.lng),
                population=commune.population,
                description=description + ".",
                department=commune.department,
                region=commune.region,
            )
        )
        france.communes.append(index)
        if epci is not None:
            france.epci_of[index] = epci
    france.nodes = _nodes(data, france)
    return france


def _choose_communes(rng: np.random.Generator, reference: Reference, count: int) -> list[Commune]:
    """The chefs-lieux of départements, then communes drawn by population (larger towns are
    likelier to be in a cooperation directory), in INSEE order."""
    communes = reference.communes
    count = min(count, len(communes))
    by_code = {c.insee: i for i, c in enumerate(communes)}
    chosen = [
        by_code[d.chef_lieu] for d in reference.departments.values() if d.chef_lieu in by_code
    ]
    chosen = chosen[:count]
    weights = np.array([(c.population + 50) ** 0.75 for c in communes], dtype=float)
    weights[chosen] = 0
    weights /= weights.sum()
    rest = rng.choice(len(communes), size=count - len(chosen), replace=False, p=weights)
    return [communes[i] for i in sorted(chosen + [int(i) for i in rest])]


def _intercommunality_seats(
    rng: np.random.Generator, chosen: list[Commune], count: int
) -> list[Commune]:
    candidates = [c for c in chosen if c.lat is not None and c.population >= 2_000]
    count = min(count, len(candidates))
    if count == 0:
        return []
    weights = np.array([c.population**0.5 for c in candidates], dtype=float)
    picked = rng.choice(len(candidates), size=count, replace=False, p=weights / weights.sum())
    return [candidates[i] for i in sorted(int(i) for i in picked)]


def _members(chosen: list[Commune], seats: list[Commune]) -> dict[str, list[Commune]]:
    """Each commune with the nearest seat of its département (none: no intercommunality)."""
    by_department: dict[str, list[Commune]] = {}
    for seat in seats:
        by_department.setdefault(seat.department, []).append(seat)
    members: dict[str, list[Commune]] = {seat.insee: [] for seat in seats}
    for commune in chosen:
        nearby = by_department.get(commune.department)
        if not nearby or commune.lat is None or commune.lng is None:
            continue
        lat, lng = commune.lat, commune.lng
        seat = min(nearby, key=lambda s: (s.lat - lat) ** 2 + (s.lng - lng) ** 2)  # type: ignore[operator]
        members[seat.insee].append(commune)
    return members


def _nodes(data: DataSet, france: France) -> list[FrenchNode]:
    """The French authorities as the network sees them, with their inclination to cooperate:
    population on a log scale, less for the larger levels (a région has many inhabitants but
    not a hundred times a city's partners)."""
    offset = {"municipality": 0.0, "intermunicipality": -0.6, "department": -1.0, "region": -1.3}
    nodes = []
    for indexes in (
        list(france.regions.values()),
        list(france.departments.values()),
        france.intercommunalities,
        france.communes,
    ):
        for index in indexes:
            actor = data.actors[index]
            nodes.append(
                FrenchNode(
                    id=index,
                    level=actor.level or "",
                    department=actor.department or "",
                    region=actor.region or "",
                    epci=france.epci_of.get(index),
                    inclination=math.log10((actor.population or 0) + 10) + offset[actor.level],
                )
            )
    return nodes


def add_foreign_places(
    rng: np.random.Generator, reference: Reference, data: DataSet, network: Network
) -> dict[str, list[int]]:
    """An actor for each foreign place of the network (its id is its index), named after real
    places of its country (the best connected first) and then new names learned from its
    language group's; placed around its country's reference point. Returns the places by
    country."""
    countries = {c.iso: c for c in reference.countries}
    pools: dict[str, list[str]] = {"french": [c.name for c in reference.communes]}
    group_of = {c.iso: c.group for c in reference.countries} | POOL_ONLY
    for code in sorted(reference.foreign_names):
        group = group_of.get(code)
        if group is not None:
            pools.setdefault(group, []).extend(reference.foreign_names[code])
    namer = PlaceNamer(rng, reference.foreign_names, pools)
    degree: dict[int, int] = {}
    for a, b in network.pairs():
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    places = sorted(network.foreign)
    assert not places or places[0] == len(data.actors), "foreign ids follow the French actors"
    names: dict[int, str] = {}
    for place in sorted(places, key=lambda p: (-degree.get(p, 0), p)):
        country = countries[network.foreign[place]]
        names[place] = namer.name(country.iso, country.group, real_first=True)
    provinces = rng.random(len(places)) < 0.06
    by_country: dict[str, list[int]] = {}
    for place, province in zip(places, provinces, strict=True):
        country = countries[network.foreign[place]]
        lat, lng = _around(rng, country)
        size = math.log(8_000) + 0.9 * math.log(degree.get(place, 1)) + rng.normal(0, 0.8)
        name = names[place]
        if province:
            template = _PROVINCE.get(country.lang, _PROVINCE["en"])
            if country.group == "anglo":
                template = "{name} County"
            name = template.format(name=name, of=of(name))
            size += math.log(40)
        index = data.add(
            ActorRow(
                ref=f"{country.iso.lower()}-{place:06d}",
                kind="local_authority",
                name=name,
                country=country.iso,
                level="region" if province else "municipality",
                latitude=lat,
                longitude=lng,
                population=int(math.exp(size)),
                place_name=names[place],
            )
        )
        assert index == place
        by_country.setdefault(country.iso, []).append(index)
    return by_country


def _around(rng: np.random.Generator, country: Country) -> tuple[float, float]:
    """A point drawn uniformly in a disc around the country's reference point."""
    radius = country.radius * math.sqrt(rng.random())
    angle = 2 * math.pi * rng.random()
    lat = max(-89.0, min(89.0, country.lat + radius * math.sin(angle)))
    lng = country.lng + radius * math.cos(angle) / max(0.2, math.cos(math.radians(lat)))
    lng = (lng + 180) % 360 - 180
    return round(lat, 4), round(lng, 4)
