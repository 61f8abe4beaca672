"""Projects: those that carry out the authorities' conventions, and those of associations and
migrant organisations, with partners, targets, themes, periods and budgets; funding
conventions of départements and régions for some of them."""

from collections import Counter, defaultdict
from datetime import date, timedelta

import numpy as np

from services.registry.generate.model import DataSet, WorkRow
from services.registry.generate.organisations import Organisations
from services.registry.generate.periods import REFERENCE_DATE, Picker, budget, status_of
from services.registry.generate.reference import Country
from services.registry.generate.territories import France
from services.registry.generate.text import at, of

__all__ = ["Rates", "add_projects", "describe_activity"]

_TITLES = {
    "water_sanitation": ("Accès à l'eau potable {at}", "Assainissement des quartiers {of}"),
    "health": ("Santé maternelle et infantile {at}", "Équipement du centre de santé {of}"),
    "education": ("Construction d'écoles {at}", "Bibliothèques scolaires {of}"),
    "youth": ("Échanges de jeunes avec {name}", "Chantiers de jeunes {at}"),
    "culture": ("Échanges culturels avec {name}", "Patrimoine et musées {of}"),
    "economic_development": ("Appui aux entreprises locales {of}", "Marché et filières {of}"),
    "social_solidarity_economy": ("Commerce équitable avec {name}", "Coopératives solidaires {at}"),
    "agriculture_food_security": ("Sécurité alimentaire {at}", "Maraîchage et irrigation {at}"),
    "governance_decentralisation": (
        "Appui à la gouvernance locale {of}",
        "État civil et fiscalité locale {at}",
    ),
    "peace": ("Dialogue et cohésion sociale {at}", "Éducation à la paix {at}"),
    "migration_development": ("Co-développement avec {name}", "Projets de la diaspora {at}"),
    "gender_equality": ("Autonomisation des femmes {of}", "Égalité femmes-hommes {at}"),
    "emergency_reconstruction": ("Reconstruction {at}", "Aide d'urgence {at}"),
    "global_citizenship_education": (
        "Éducation à la citoyenneté mondiale avec {name}",
        "Semaine de la solidarité internationale avec {name}",
    ),
    "urban_development": ("Aménagement urbain {of}", "Habitat et quartiers {of}"),
    "waste_management": ("Collecte et valorisation des déchets {at}", "Gestion des déchets {of}"),
    "biodiversity": ("Protection de la biodiversité {at}", "Reboisement autour {of}"),
    "sustainable_development": ("Agenda 21 local {of}", "Développement durable {at}"),
    "climate": ("Adaptation au changement climatique {at}", "Plan climat {of}"),
    "energy": ("Électrification solaire {at}", "Efficacité énergétique {at}"),
}


class Rates:
    """Projects per convention, association and migrant organisation (expected numbers)."""

    cooperation = 0.9  # per decentralised cooperation agreement or partnership
    twinning = 0.3
    association = (0.3, 0.4, 0.2, 0.1)  # chances of 0, 1, 2, 3 projects
    migrant = (0.35, 0.45, 0.2)


class _Projects:
    def __init__(
        self,
        rng: np.random.Generator,
        picker: Picker,
        data: DataSet,
        france: France,
        orgs: Organisations,
        partners_of: dict[int, list[int]],
        tied: set[tuple[int, int]],
        focus: dict[int, str],
        countries: dict[str, Country],
        places_by_country: dict[str, list[int]],
    ) -> None:
        self.rng, self.picker, self.data, self.france, self.orgs = rng, picker, data, france, orgs
        self.partners_of, self.tied, self.focus, self.countries = (
            partners_of,
            tied,
            focus,
            countries,
        )
        self.places_by_country = places_by_country
        self.titles: set[tuple[int, str]] = set()
        actors = data.actors
        # French authorities with foreign partners, by région.
        self.by_region: dict[str, list[int]] = defaultdict(list)
        for authority in sorted(partners_of):
            if actors[authority].country == "FR" and partners_of[authority]:
                self.by_region[actors[authority].region or ""].append(authority)
        # Foreign places by country, the better connected drawn more often.
        degree: Counter[int] = Counter()
        for places in partners_of.values():
            degree.update(places)
        self.place_weights = {
            code: np.cumsum([degree[p] + 1.0 for p in places])
            for code, places in places_by_country.items()
        }
        # French associations by région and country of focus: partners for each other.
        self.fellows: dict[tuple[str, str], list[int]] = defaultdict(list)
        for association in orgs.associations:
            actor = actors[association]
            if actor.country == "FR":
                key = (actor.region or "", orgs.focus_country[association])
                self.fellows[key].append(association)

    # --- building blocks -------------------------------------------------------------------

    def is_authority(self, actor: int) -> bool:
        return self.data.actors[actor].kind == "local_authority"

    def may_join(self, members: list[int], candidate: int) -> bool:
        """Whether a partner can join: a project ties every pair of its members, and two local
        authorities are tied by a project only if they already are by a convention (the
        authority network keeps the shape it was built with)."""
        if candidate in members:
            return False
        if not self.is_authority(candidate):
            return True
        return all(
            (min(m, candidate), max(m, candidate)) in self.tied
            for m in members
            if self.is_authority(m)
        )

    def title(self, lead: int, theme: str, target: int) -> str:
        name = self.data.actors[target].name
        options = _TITLES.get(theme, ("Coopération avec {name}",))
        base = options[int(self.rng.integers(len(options)))].format(
            name=name, at=at(name), of=of(name)
        )
        title, phase = base, 1
        while (lead, title) in self.titles:
            phase += 1
            title = f"{base} (phase {phase})"
        self.titles.add((lead, title))
        return title

    def period(self, earliest: date | None, latest: date | None = None) -> tuple[date, date]:
        """A period of one to four years starting from `earliest` (2000 at the earliest) to a
        year from now, or to a year before `latest`."""
        low = max(earliest or date(2005, 1, 1), date(2000, 1, 1))
        high = REFERENCE_DATE + timedelta(days=365)
        if latest is not None:
            high = min(high, latest - timedelta(days=365))
        span = max(1, (high - low).days)
        starts = low + timedelta(days=int(self.rng.integers(0, span)))
        return starts, starts + timedelta(days=int(self.rng.integers(1, 5)) * 365)

    def add(
        self,
        lead: int,
        partners: list[tuple[int, str]],
        target: int,
        themes: list[str],
        *,
        convention: WorkRow | None = None,
        median: float = 35_000,
    ) -> WorkRow:
        starts, ends = self.period(
            convention.starts_on if convention else None,
            convention.ends_on if convention else None,
        )
        status = status_of(self.rng, ends, self.data.actors[target].country)
        if starts > REFERENCE_DATE:
            status = "draft"
        amount = budget(self.rng, median) if self.rng.random() < 0.75 else None
        project = WorkRow(
            ref=f"proj-{len(self.data.projects) + 1:06d}",
            title=self.title(lead, themes[0], target),
            lead=lead,
            parties=partners,
            convention=convention.ref if convention else None,
            target=target,
            themes=themes,
            status=status,
            starts_on=starts,
            ends_on=ends,
            budget=amount,
        )
        self.data.projects.append(project)
        return project

    def themes(self, target: int, own: list[str], p_focus: float = 0.55) -> list[str]:
        country = self.countries[self.data.actors[target].country]
        chosen = self.picker.themes(
            country.style,
            int(self.rng.integers(1, 3)),
            focus=self.focus.get(target),
            p_focus=p_focus,
        )
        if own and self.rng.random() < 0.5 and own[0] not in chosen:
            chosen = [own[0], *chosen][:2]
        return chosen

    def local_partners(
        self, members: list[int], home: int, target: int, partners: list[tuple[int, str]]
    ) -> None:
        """Associations of the lead's town, a partner organisation in the target town, a
        migrant organisation of the town that comes from the target's country."""
        rng, actors = self.rng, self.data.actors
        for association in self.orgs.by_home.get(home, [])[:6]:
            if rng.random() < 0.3 and self.may_join(members, association):
                partners.append((association, "operator"))
                members.append(association)
        local = self.orgs.foreign_by_place.get(target, [])
        if local and rng.random() < 0.5:
            partner = local[int(rng.integers(len(local)))]
            if self.may_join(members, partner):
                partners.append((partner, "operator"))
                members.append(partner)
        country = actors[target].country
        migrants = [
            m
            for m in self.orgs.migrants_by_home.get(home, [])
            if self.orgs.focus_country.get(m) == country
        ]
        if migrants and rng.random() < 0.6:
            partner = migrants[int(rng.integers(len(migrants)))]
            if self.may_join(members, partner):
                partners.append((partner, "partner"))
                members.append(partner)

    # --- the three sources of projects --------------------------------------------------------

    def of_conventions(self) -> None:
        rng, actors = self.rng, self.data.actors
        for convention in list(self.data.conventions):
            if convention.target is None or convention.status == "draft":
                continue
            rate = {
                "decentralised_cooperation": Rates.cooperation,
                "partnership": Rates.cooperation,
                "twinning": Rates.twinning,
            }.get(convention.kind or "", 0.0)
            french = [p for p, _ in convention.parties if actors[p].country == "FR"]
            if not french:
                continue
            for _ in range(int(rng.poisson(rate))):
                lead = french[0]
                committee = self.orgs.committees.get(lead)
                if convention.kind == "twinning" and committee is not None and rng.random() < 0.5:
                    lead = committee
                members = [lead]
                partners: list[tuple[int, str]] = []
                if self.may_join(members, convention.target):
                    partners.append((convention.target, "partner"))
                    members.append(convention.target)
                home = french[0]
                self.local_partners(members, home, convention.target, partners)
                themes = convention.themes[:1] + [
                    t for t in convention.themes[1:] if rng.random() < 0.4
                ]
                self.add(
                    lead, partners, convention.target, themes, convention=convention, median=50_000
                )

    def target_for(self, home: int, country: str) -> int:
        """Where an association works: a partner of its town, of another authority of its
        région (so several territories meet in one place), or a place of its country."""
        rng, actors = self.rng, self.data.actors
        own = self.partners_of.get(home, [])
        roll = rng.random()
        if own and roll < 0.45:
            return own[int(rng.integers(len(own)))]
        region = self.by_region.get(actors[home].region or "", [])
        if region and roll < 0.7:
            authority = region[int(rng.integers(len(region)))]
            places = self.partners_of[authority]
            return places[int(rng.integers(len(places)))]
        places = self.places_by_country[country]
        weights = self.place_weights[country]
        return places[int(np.searchsorted(weights, rng.random() * weights[-1]))]

    def of_associations(self) -> None:
        rng, actors, orgs = self.rng, self.data.actors, self.orgs
        counts = rng.choice(
            len(Rates.association), size=len(orgs.associations), p=Rates.association
        )
        for association, count in zip(orgs.associations, counts, strict=True):
            home = actors[association].based_in
            assert home is not None
            for _ in range(int(count)):
                target = self.target_for(home, orgs.focus_country[association])
                members, partners = [association], []
                funder = None
                if rng.random() < 0.15:
                    department = self.france.departments.get(actors[association].department or "")
                    region = self.france.regions.get(actors[association].region or "")
                    funder = department if department is not None and rng.random() < 0.6 else region
                if funder is not None:
                    partners.append((funder, "funder"))
                    members.append(funder)
                if rng.random() < 0.6 and self.may_join(members, target):
                    partners.append((target, "partner"))
                    members.append(target)
                self.local_partners(members, home, target, partners)
                if rng.random() < 0.15 and self.may_join(members, home):
                    partners.append((home, "partner"))
                    members.append(home)
                if rng.random() < 0.35:
                    self.fellow(members, partners, association, target)
                project = self.add(
                    association, partners, target, self.themes(target, actors[association].themes)
                )
                if funder is not None and rng.random() < 0.5:
                    self.funding(funder, association, project)

    def of_migrants(self) -> None:
        rng, actors, orgs = self.rng, self.data.actors, self.orgs
        counts = rng.choice(
            len(Rates.migrant), size=len(orgs.migrant_organisations), p=Rates.migrant
        )
        for organisation, count in zip(orgs.migrant_organisations, counts, strict=True):
            origins = actors[organisation].origins
            home = actors[organisation].based_in
            assert home is not None
            for _ in range(int(count)):
                target = origins[int(rng.integers(len(origins)))]
                members, partners = [organisation], []
                if rng.random() < 0.6 and self.may_join(members, target):
                    partners.append((target, "partner"))
                    members.append(target)
                local = orgs.foreign_by_place.get(target, [])
                if local and rng.random() < 0.3:
                    partners.append((local[int(rng.integers(len(local)))], "operator"))
                    members.append(partners[-1][0])
                neighbours = orgs.by_home.get(home, [])
                if neighbours and rng.random() < 0.2:
                    partner = neighbours[int(rng.integers(len(neighbours)))]
                    partners.append((partner, "partner"))
                    members.append(partner)
                if rng.random() < 0.2 and self.may_join(members, home):
                    partners.append((home, "partner"))
                    members.append(home)
                themes = self.themes(target, actors[organisation].themes[1:], p_focus=0.5)
                if rng.random() < 0.5 and "migration_development" not in themes:
                    themes = ["migration_development", *themes][:2]
                self.add(organisation, partners, target, themes)

    def fellow(
        self, members: list[int], partners: list[tuple[int, str]], association: int, target: int
    ) -> None:
        """Another association of the région that works in the same country joins."""
        actors = self.data.actors
        key = (actors[association].region or "", actors[target].country)
        found = self.fellows.get(key)
        if found:
            fellow = found[int(self.rng.integers(len(found)))]
            if fellow not in members:
                partners.append((fellow, "partner"))
                members.append(fellow)

    def funding(self, funder: int, association: int, project: WorkRow) -> None:
        actors = self.data.actors
        year = project.starts_on.year if project.starts_on else REFERENCE_DATE.year
        self.data.conventions.append(
            WorkRow(
                ref=f"conv-{len(self.data.conventions) + 1:06d}",
                title=f"Convention de financement {year} {actors[funder].name} – "
                f"{actors[association].name}",
                kind="funding",
                parties=[(funder, "funder"), (association, "partner")],
                target=project.target,
                themes=list(project.themes),
                status=project.status,
                signed_on=None if project.status == "draft" else project.starts_on,
                starts_on=project.starts_on,
                ends_on=project.ends_on,
                budget=budget(self.rng, 15_000, 0.7),
            )
        )


def add_projects(
    rng: np.random.Generator,
    picker: Picker,
    data: DataSet,
    france: France,
    orgs: Organisations,
    partners_of: dict[int, list[int]],
    tied: set[tuple[int, int]],
    focus: dict[int, str],
    countries: dict[str, Country],
    places_by_country: dict[str, list[int]],
) -> None:
    builder = _Projects(
        rng, picker, data, france, orgs, partners_of, tied, focus, countries, places_by_country
    )
    builder.of_conventions()
    builder.of_associations()
    builder.of_migrants()


def describe_activity(data: DataSet) -> None:
    """What the actors' rows say of their work: the countries organisations work in, and the
    themes of local authorities (the most frequent of their conventions and projects)."""
    actors = data.actors
    themes: dict[int, Counter[str]] = defaultdict(Counter)
    countries: dict[int, set[str]] = defaultdict(set)
    for work in data.conventions + data.projects:
        target_country = actors[work.target].country if work.target is not None else None
        for member in work.members():
            themes[member].update(work.themes)
            if target_country and target_country != actors[member].country:
                countries[member].add(target_country)
    for index, actor in enumerate(actors):
        if actor.kind == "local_authority":
            if not actor.themes and themes[index]:
                ranked = sorted(themes[index].items(), key=lambda item: (-item[1], item[0]))
                actor.themes = [theme for theme, _ in ranked[:3]]
        elif actor.kind in ("association", "migrant_organisation"):
            found = set(actor.intervention_countries) | countries[index]
            found.discard(actor.country)
            actor.intervention_countries = sorted(found)
