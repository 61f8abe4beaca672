"""Associations, migrant organisations, networks and resource centres, with the territories they
are based in and come from, and their relationships (memberships, support, coordination)."""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from services.registry.generate.model import ActorRow, DataSet, RelationshipRow
from services.registry.generate.periods import Picker, day_in
from services.registry.generate.reference import Country, Reference
from services.registry.generate.territories import France
from services.registry.generate.text import at, of
from shared.countries import country_label
from shared.themes import get_theme

__all__ = ["Counts", "Organisations", "add_organisations"]

_REGIONS_OF_WORK = {
    "west_central_africa": "Afrique",
    "east_africa": "Afrique",
    "arabic": "Méditerranée",
    "hispanic": "Amérique latine",
    "lusophone": "Lusophonie",
    "french": "Haïti",
    "southeast_asia": "Asie",
    "chinese": "Asie",
    "japanese": "Asie",
    "korean": "Asie",
    "south_asia": "Inde",
}
_WORDS = (
    "Solidarité",
    "Entraide",
    "Partage",
    "Échanges",
    "Horizons",
    "Passerelles",
    "Ponts",
    "Regards",
    "Racines",
    "Graines",
    "Sources",
    "Espoir",
)
_THEMED = {
    "water_sanitation": "Eau pour {place}",
    "health": "Santé {place}",
    "education": "Écoles pour {place}",
    "agriculture_food_security": "Jardins et greniers {of}",
    "youth": "Jeunesse {fr} – {place}",
    "culture": "Culture et amitié {fr} – {place}",
    "energy": "Soleil pour {place}",
    "gender_equality": "Femmes solidaires {fr} – {place}",
}
_FOREIGN = {
    "fr": (
        "Association des femmes {of}",
        "Groupement villageois {of}",
        "ONG Avenir {of}",
        "Association pour le développement {of}",
        "Coopérative des producteurs {of}",
        "Association des jeunes {of}",
    ),
    "en": (
        "{name} Community Development Association",
        "{name} Women's Group",
        "Friends of {name} Trust",
        "{name} Youth Network",
    ),
    "de": ("Freundeskreis {name}", "Partnerschaftsverein {name}", "Förderverein {name}"),
    "it": ("Associazione Amici di {name}", "Comitato gemellaggi di {name}", "Pro Loco {name}"),
    "es": ("Asociación de mujeres de {name}", "Cooperativa de {name}", "Fundación {name}"),
    "pt": ("Associação de moradores de {name}", "Cooperativa de {name}"),
    "pl": ("Stowarzyszenie Partnerskie {name}", "Fundacja Rozwoju {name}"),
    "ro": ("Asociația Prietenii {name}", "Fundația {name}"),
    "hu": ("{name} Testvérvárosi Egyesület", "{name} Ifjúsági Egyesület"),
    "cs": ("Partnerský spolek {name}", "Spolek přátel {name}"),
}


_QUARTERS = {
    "fr": ("Nord", "Sud", "Est", "Ouest", "Centre"),
    "en": ("North", "South", "East", "West", "Central"),
    "de": ("Nord", "Süd", "Ost", "West", "Mitte"),
    "it": ("Nord", "Sud", "Est", "Ovest", "Centro"),
    "es": ("Norte", "Sur", "Este", "Oeste", "Centro"),
    "pt": ("Norte", "Sul", "Leste", "Oeste", "Centro"),
}


@dataclass(frozen=True)
class Counts:
    associations: int
    foreign_associations: int
    migrant_organisations: int
    networks: int
    resource_centres: int
    total: int  # actors of the whole data set


@dataclass
class Organisations:
    associations: list[int] = field(default_factory=list)
    foreign_associations: list[int] = field(default_factory=list)
    migrant_organisations: list[int] = field(default_factory=list)
    networks: list[int] = field(default_factory=list)
    resource_centres: list[int] = field(default_factory=list)
    by_home: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    migrants_by_home: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    foreign_by_place: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    committees: dict[int, int] = field(default_factory=dict)
    # An association's country of focus (ISO code), and its favourite place there.
    focus_country: dict[int, str] = field(default_factory=dict)


class _Builder:
    def __init__(
        self,
        rng: np.random.Generator,
        picker: Picker,
        reference: Reference,
        data: DataSet,
        france: France,
        places_by_country: dict[str, list[int]],
        partners_of: dict[int, list[int]],
        countries: dict[str, Country],
    ) -> None:
        self.rng, self.picker, self.reference, self.data = rng, picker, reference, data
        self.france, self.places_by_country = france, places_by_country
        self.partners_of, self.countries = partners_of, countries
        self.out = Organisations()
        self.names: set[tuple[str, str]] = set()
        self.ties: dict[tuple[str, int, int], None] = {}
        self.place_weights: dict[str, np.ndarray] = {}
        self.by_insee = {data.actors[i].insee_code: i for i in france.communes}
        self.largest: dict[tuple[str, str], int] = {}
        for index in sorted(france.communes, key=lambda i: -(data.actors[i].population or 0)):
            actor = data.actors[index]
            self.largest.setdefault(("department", actor.department or ""), index)
            self.largest.setdefault(("region", actor.region or ""), index)
        self.place_degree: dict[int, int] = defaultdict(int)
        for places in partners_of.values():
            for place in places:
                self.place_degree[place] += 1

    # --- helpers ---------------------------------------------------------------------------

    def choose(self, items: list[int], weights: np.ndarray) -> int:
        return items[int(self.rng.choice(len(items), p=weights / weights.sum()))]

    def unique(self, kind: str, candidates: list[str]) -> str:
        for name in candidates:
            if (kind, name) not in self.names:
                self.names.add((kind, name))
                return name
        name = candidates[0]
        self.names.add((kind, name))
        return name

    def place_in(self, country: str) -> int:
        """A place of the country, the better connected more often."""
        places = self.places_by_country[country]
        cumulative = self.place_weights.get(country)
        if cumulative is None:
            cumulative = np.cumsum([self.place_degree.get(p, 0) + 1.0 for p in places])
            self.place_weights[country] = cumulative
        drawn = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right"))
        return places[min(drawn, len(places) - 1)]

    def relate(self, kind: str, subject: int, obj: int) -> None:
        if subject == obj or (kind, subject, obj) in self.ties:
            return
        self.ties[(kind, subject, obj)] = None
        starts = day_in(self.rng, int(self.rng.integers(1995, 2025)))
        self.data.relationships.append(
            RelationshipRow(
                ref=f"rel-{len(self.data.relationships) + 1:06d}",
                kind=kind,
                subject=subject,
                object=obj,
                starts_on=starts if self.rng.random() < 0.6 else None,
            )
        )

    def hosted(self, home: int, kind: str, name: str, ref: str, **fields: object) -> int:
        """An organisation based in `home`, placed a little around it on a map."""
        territory = self.data.actors[home]
        lat = lng = None
        if territory.latitude is not None and territory.longitude is not None:
            lat = round(territory.latitude + float(self.rng.normal(0, 0.01)), 5)
            lng = round(territory.longitude + float(self.rng.normal(0, 0.014)), 5)
        return self.data.add(
            ActorRow(
                ref=ref,
                kind=kind,
                name=name,
                country=territory.country,
                based_in=home,
                latitude=lat,
                longitude=lng,
                department=territory.department,
                region=territory.region,
                **fields,  # type: ignore[arg-type]
            )
        )

    # --- associations -------------------------------------------------------------------------

    def associations(self, count: int, *, committees: bool = True) -> None:
        """`count` associations based in French towns, the first ones twinning committees."""
        france, actors = self.france, self.data.actors
        communes = france.communes
        weights = np.array(
            [
                (actors[c].population or 0) ** 0.8 * (2.5 if self.partners_of.get(c) else 1.0)
                for c in communes
            ],
            dtype=float,
        )
        twinned = [
            c
            for c in communes
            if any(
                self.countries[actors[p].country].style != "coop"
                for p in self.partners_of.get(c, [])
            )
        ]
        chosen = [c for c in twinned if self.rng.random() < 0.35][: count // 4]
        if not committees:
            chosen = []
        homes = chosen + [
            communes[int(i)]
            for i in self.rng.choice(
                len(communes), size=count - len(chosen), p=weights / weights.sum()
            )
        ]
        first = len(self.out.associations) + 1
        for number, home in enumerate(homes, start=first):
            committee = number - first < len(chosen)
            index = self._association(home, number, committee)
            if committee:
                self.out.committees[home] = index

    def _association(self, home: int, number: int, committee: bool) -> int:
        actors, rng = self.data.actors, self.rng
        partners = self.partners_of.get(home, [])
        if partners and (committee or rng.random() < 0.5):
            place = partners[int(rng.integers(len(partners)))]
            country = actors[place].country
        else:
            country = self._country(lambda c: c.weight * (2.5 if c.style == "coop" else 1.0))
            place = self.place_in(country)
        style = self.countries[country].style
        themes = self.picker.themes(style, int(rng.choice((1, 2, 3), p=(0.35, 0.45, 0.2))))
        town = actors[home].name
        if committee:
            name = self.unique("association", [f"Comité de jumelage {of(town)}"])
        else:
            name = self._association_name(town, actors[place].short_name, country, themes[0])
        index = self.hosted(
            home,
            "association",
            name,
            f"asso-{number:06d}",
            themes=themes,
            description="Comité de jumelage."
            if committee
            else f"Association de solidarité internationale, {country_label(country, 'fr')}.",
        )
        self.out.associations.append(index)
        self.out.by_home[home].append(index)
        self.out.focus_country[index] = country
        return index

    def _association_name(self, town: str, place: str, country: str, theme: str) -> str:
        rng = self.rng
        region = _REGIONS_OF_WORK.get(self.countries[country].group, "Monde")
        if country in ("ML", "SN", "BF", "NE", "MR", "TD"):
            region = "Sahel"
        candidates = []
        for _ in range(4):
            word = _WORDS[int(rng.integers(len(_WORDS)))]
            roll = rng.random()
            if roll < 0.25:
                candidates.append(f"{word} {town} – {place}")
            elif roll < 0.5:
                candidates.append(f"{town} {word} {region}")
            elif roll < 0.65:
                candidates.append(f"Les Amis {of(place)}")
            elif roll < 0.85 and theme in _THEMED:
                candidates.append(_THEMED[theme].format(place=place, of=of(place), fr=town))
            else:
                candidates.append(f"{word} {region} {of(town)}")
        return self.unique("association", candidates)

    def _country(self, weight) -> str:  # type: ignore[no-untyped-def]
        codes = [c for c in sorted(self.places_by_country)]
        weights = np.array([weight(self.countries[c]) for c in codes], dtype=float)
        if weights.sum() <= 0:
            weights = np.ones(len(codes))
        return codes[int(self.rng.choice(len(codes), p=weights / weights.sum()))]

    def foreign_associations(self, count: int) -> None:
        actors = self.data.actors
        places = [p for codes in self.places_by_country.values() for p in codes]
        places.sort()
        weights = np.array(
            [
                (self.place_degree.get(p, 0) + 0.5)
                * (3.0 if self.countries[actors[p].country].style == "coop" else 1.0)
                for p in places
            ]
        )
        for number, i in enumerate(
            self.rng.choice(len(places), size=count, p=weights / weights.sum()), start=1
        ):
            place = places[int(i)]
            country = self.countries[actors[place].country]
            templates = _FOREIGN.get(country.lang, _FOREIGN["en"])
            name = actors[place].short_name
            candidates = [
                templates[int(t)].format(name=name, of=of(name))
                for t in self.rng.permutation(len(templates))
            ]
            # Every name of the place is taken: one of a quarter of the town.
            quarters = _QUARTERS.get(country.lang, _QUARTERS["en"])
            candidates += [
                f"{candidates[0]} {quarters[int(q)]}" for q in self.rng.permutation(len(quarters))
            ]
            index = self.hosted(
                place,
                "association",
                self.unique("foreign", candidates),
                f"asso-{country.iso.lower()}-{number:06d}",
                themes=self.picker.themes(country.style, int(self.rng.integers(1, 3))),
            )
            self.out.foreign_associations.append(index)
            self.out.foreign_by_place[place].append(index)

    # --- migrant organisations ------------------------------------------------------------

    def migrant_organisations(self, count: int) -> None:
        actors, rng = self.data.actors, self.rng
        communes = self.france.communes
        weights = np.array(
            [
                (actors[c].population or 0)
                * (3.0 if actors[c].region == "11" else 1.0)
                * (1.5 if (actors[c].population or 0) > 100_000 else 1.0)
                for c in communes
            ],
            dtype=float,
        )
        homes = rng.choice(len(communes), size=count, p=weights / weights.sum())
        diaspora = [c for c in sorted(self.places_by_country) if self.countries[c].diaspora > 0]
        if not diaspora:
            return
        origin_weights = np.array([self.countries[c].diaspora for c in diaspora])
        for number, i in enumerate(homes, start=1):
            home = communes[int(i)]
            country = diaspora[
                int(rng.choice(len(diaspora), p=origin_weights / origin_weights.sum()))
            ]
            # The double anchorage often follows the home town's own partnerships.
            own = [p for p in self.partners_of.get(home, []) if actors[p].country == country]
            first = own[int(rng.integers(len(own)))] if own and rng.random() < 0.6 else None
            origins = [first if first is not None else self.place_in(country)]
            for _ in range(int(rng.choice((0, 1, 2), p=(0.6, 0.3, 0.1)))):
                other = self.place_in(country)
                if other not in origins:
                    origins.append(other)
            origin = actors[origins[0]].short_name
            town = actors[home].name
            demonym = self.countries[country].demonym
            region = self.reference.regions[actors[home].region or ""].name_de
            names = [
                f"Association des ressortissants {of(origin)} {at(town)}",
                f"Association pour le développement {of(origin)}",
                f"Collectif {origin} – {town}",
                f"Union des ressortissants {of(origin)} {region}",
                f"Jeunesse {of(origin)} {at(town)}",
                f"Femmes {of(origin)} {at(town)}",
                f"Solidarité {origin} – {town}",
            ]
            if demonym:
                names.append(f"Amicale des {demonym.capitalize()} {of(town)}")
            candidates = [names[int(i)] for i in rng.permutation(len(names))]
            themes = [
                "migration_development",
                *self.picker.themes(self.countries[country].style, int(rng.integers(1, 3))),
            ]
            index = self.hosted(
                home,
                "migrant_organisation",
                self.unique("migrant", candidates),
                f"osim-{number:06d}",
                origins=origins,
                themes=list(dict.fromkeys(themes)),
                intervention_countries=[country],
                description="Organisation de solidarité internationale issue des migrations.",
            )
            self.out.migrant_organisations.append(index)
            self.out.migrants_by_home[home].append(index)
            self.out.focus_country[index] = country

    # --- networks and resource centres ----------------------------------------------------

    def groups(self, networks: int, centres: int) -> None:
        """Networks (collectives of a département, twinning committees, thematic and diaspora
        networks of a région, country groups of authorities) and resource centres (one
        multi-actor network per région, then houses of international solidarity in large
        towns), with their members. The largest candidate groups are created first."""
        actors, rng = self.data.actors, self.rng
        reference = self.reference
        members_of: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
        organisations = self.out.associations + self.out.migrant_organisations
        participants = [p for p in self.partners_of if actors[p].country == "FR"]
        for org in organisations:
            actor = actors[org]
            members_of[("collective", actor.department or "")].append((org, 0.35))
            for theme in actor.themes[:2]:
                if theme != "migration_development":
                    members_of[("theme", f"{actor.region}:{theme}")].append((org, 0.3))
            if actor.kind == "migrant_organisation":
                country = self.out.focus_country[org]
                if self.countries[country].demonym:
                    members_of[("diaspora", f"{actor.region}:{country}")].append((org, 0.6))
            else:
                members_of[("country", self.out.focus_country[org])].append((org, 0.1))
        for authority in participants:
            actor = actors[authority]
            if actor.level == "municipality":
                members_of[("twinning", actor.department or "")].append((authority, 0.45))
            for country in sorted({actors[p].country for p in self.partners_of[authority]}):
                members_of[("country", country)].append((authority, 0.3))
        for commune, committee in self.out.committees.items():
            members_of[("twinning", actors[commune].department or "")].append((committee, 0.7))
        candidates = [
            (len(found) * float(rng.uniform(0.7, 1.3)), key)
            for key, found in members_of.items()
            if len(found) >= 3 and key[1]
        ]
        candidates.sort(key=lambda item: (-item[0], item[1]))
        for number, (_size, key) in enumerate(candidates[:networks], start=1):
            index = self._network(key, number)
            if index is None:
                continue
            for member, chance in members_of[key]:
                if rng.random() < chance:
                    self.relate("member_of", member, index)
        self._centres(centres, organisations, participants, reference)

    def _seat(self, department: str | None = None, region: str | None = None) -> int | None:
        """Where a group of a département or région is based: its chef-lieu, else its largest
        town in the data set."""
        reference = self.reference
        if department is not None:
            chef_lieu, key = reference.departments[department].chef_lieu, ("department", department)
        elif region is not None:
            chef_lieu, key = reference.regions[region].chef_lieu, ("region", region)
        else:
            chef_lieu, key = "75056", ("region", "11")
        found = self.by_insee.get(chef_lieu)
        return found if found is not None else self.largest.get(key)

    def _network(self, key: tuple[str, str], number: int) -> int | None:
        kind, value = key
        reference = self.reference
        themes: list[str] = []
        if kind in ("collective", "twinning"):
            department = reference.departments[value]
            home = self._seat(department=value)
            name = (
                f"Collectif de solidarité internationale {department.name_de}"
                if kind == "collective"
                else f"Comité départemental des jumelages {department.name_de}"
            )
        elif kind == "theme":
            region_code, theme = value.split(":")
            home = self._seat(region=region_code)
            label = get_theme(theme)
            name = f"Réseau « {label.label_fr if label else theme} » "
            name += reference.regions[region_code].name_de
            themes = [theme]
        elif kind == "diaspora":
            region_code, country = value.split(":")
            home = self._seat(region=region_code)
            demonym = self.countries[country].demonym.capitalize()
            name = f"Fédération des {demonym} {reference.regions[region_code].name_de}"
            themes = ["migration_development"]
        else:
            home = self._seat()
            name = f"Groupe pays {country_label(value, 'fr')} des collectivités territoriales"
        if home is None:
            return None
        index = self.hosted(home, "network", self.unique("network", [name]), f"net-{number:05d}")
        self.data.actors[index].themes = themes
        self.out.networks.append(index)
        return index

    def _centres(
        self,
        count: int,
        organisations: list[int],
        participants: list[int],
        reference: Reference,
    ) -> None:
        actors, rng = self.data.actors, self.rng
        regions = sorted(self.france.regions)
        big_towns = sorted(
            (i for i in self.france.communes if (actors[i].population or 0) >= 80_000),
            key=lambda i: -(actors[i].population or 0),
        )
        planned = [("region", r) for r in regions] + [("town", str(t)) for t in big_towns]
        by_region: dict[str, list[int]] = defaultdict(list)
        for network in self.out.networks:
            by_region[actors[network].region or ""].append(network)
        for number, (kind, value) in enumerate(planned[:count], start=1):
            if kind == "region":
                home = self._seat(region=value)
                name = f"Réseau régional multi-acteurs {reference.regions[value].name_de}"
            else:
                home = int(value)
                name = f"Maison des solidarités internationales {of(actors[home].name)}"
            if home is None:
                continue
            index = self.hosted(
                home, "resource_centre", self.unique("centre", [name]), f"rc-{number:04d}"
            )
            self.out.resource_centres.append(index)
            if kind == "region":
                for org in organisations:
                    if actors[org].region == value and rng.random() < 0.15:
                        self.relate("member_of", org, index)
                for authority in participants:
                    if actors[authority].region == value and rng.random() < 0.25:
                        self.relate("member_of", authority, index)
                for network in by_region.get(value, []):
                    self.relate("coordinates", index, network)
                region = self.france.regions.get(value)
                if region is not None:
                    self.relate("supports", region, index)
            else:
                for org in self.out.by_home.get(home, []) + self.out.migrants_by_home.get(home, []):
                    if rng.random() < 0.45:
                        self.relate("member_of", org, index)

    def support(self) -> None:
        """Towns support their twinning committees; départements and régions some of their
        associations."""
        actors, rng = self.data.actors, self.rng
        for commune, committee in self.out.committees.items():
            if rng.random() < 0.6:
                self.relate("supports", commune, committee)
        for org in self.out.associations + self.out.migrant_organisations:
            if rng.random() < 0.08:
                department = self.france.departments.get(actors[org].department or "")
                region = self.france.regions.get(actors[org].region or "")
                funder = department if department is not None and rng.random() < 0.6 else region
                if funder is not None:
                    self.relate("supports", funder, org)


def add_organisations(
    rng: np.random.Generator,
    picker: Picker,
    reference: Reference,
    data: DataSet,
    france: France,
    places_by_country: dict[str, list[int]],
    partners_of: dict[int, list[int]],
    countries: dict[str, Country],
    counts: Counts,
) -> Organisations:
    builder = _Builder(
        rng, picker, reference, data, france, places_by_country, partners_of, countries
    )
    builder.associations(counts.associations)
    builder.foreign_associations(counts.foreign_associations)
    builder.migrant_organisations(counts.migrant_organisations)
    builder.groups(counts.networks, counts.resource_centres)
    # Fewer groups than planned (a small data set has fewer candidates): more associations.
    missing = counts.total - len(data.actors)
    if missing > 0:
        builder.associations(missing, committees=False)
    builder.support()
    return builder.out
