"""The words of suggestion reasons, in English (the API's default) and French.

Each reason of `services.matching.scoring` is written from one of these templates; the language
is the request's (`Accept-Language`, see `shared.language`). English stays word for word what
API clients have always read.
"""

from typing import Any

from shared.language import Language
from shared.themes import get_theme

__all__ = ["article_kind", "number", "plural", "say", "theme_names"]

_TEMPLATES: dict[str, dict[Language, str]] = {
    "structural.through": {
        "en": "close in the network (Adamic–Adar {index}) through {names}",
        "fr": "proches dans le réseau (Adamic–Adar {index}) par {names}",
    },
    "structural.reachable": {
        "en": "reachable in the network through partners of partners",
        "fr": "joignables dans le réseau par des partenaires de partenaires",
    },
    "structural.far": {
        "en": "far apart in the network: no partner in common",
        "fr": "éloignés dans le réseau : aucun partenaire commun",
    },
    "country.same": {
        "en": "actors of {country} cooperate with each other {lift}× as often as chance",
        "fr": "coopérations entre acteurs d'un même pays ({country}) : {lift} fois plus "
        "fréquentes que le hasard",
    },
    "country.pair": {
        "en": "actors of {country_a} and {country_b} cooperate {lift}× as often as chance",
        "fr": "coopérations {country_a}–{country_b} : {lift} fois plus fréquentes que le hasard",
    },
    "country.partners": {
        "en": "; {name} already has {ties} {partners} in {country}",
        "fr": " ; {name} a déjà {ties} {partners} dans ce pays ({country})",
    },
    "popularity.none": {
        "en": "{name} is tied to no one yet",
        "fr": "{name} n'est encore lié à personne",
    },
    "popularity.ties": {
        "en": "{name} is already tied to {ties} {actors}",
        "fr": "{name} est déjà lié à {ties} {actors}",
    },
    "distance.unknown": {
        "en": "no coordinates to compare their places",
        "fr": "pas de coordonnées pour comparer leurs lieux",
    },
    "distance.close": {"en": "close on the map ({km} km)", "fr": "proches sur la carte ({km} km)"},
    "distance.apart": {"en": "{km} km apart", "fr": "à {km} km l'un de l'autre"},
    "kinds.authorities_level": {
        "en": "two local authorities of different countries, both of level {level}",
        "fr": "deux collectivités de pays différents, toutes deux de niveau {level}",
    },
    "kinds.authorities_abroad": {
        "en": "two local authorities of different countries",
        "fr": "deux collectivités de pays différents",
    },
    "kinds.authorities_home": {
        "en": "two local authorities of one country",
        "fr": "deux collectivités d'un même pays",
    },
    "kinds.own_territory": {
        "en": "an organisation of the authority's own territory",
        "fr": "une organisation du territoire même de la collectivité",
    },
    "kinds.partner_territory": {
        "en": "an organisation of {home}, which already cooperates with {authority}",
        "fr": "une organisation de {home}, qui coopère déjà avec {authority}",
    },
    "kinds.often": {
        "en": "{kind_a} and {kind_b}: kinds that often work together",
        "fr": "{kind_a} et {kind_b} : des acteurs qui travaillent souvent ensemble",
    },
    "kinds.rarely": {
        "en": "{kind_a} and {kind_b}: kinds that rarely work together",
        "fr": "{kind_a} et {kind_b} : des acteurs qui travaillent rarement ensemble",
    },
    "themes.none": {"en": "no theme in common", "fr": "aucun thème commun"},
    "themes.shared": {
        "en": "works on the same themes: {themes}",
        "fr": "travaille sur les mêmes thèmes : {themes}",
    },
    "bridge.found": {
        "en": "{organisation} is based in {based_in} and originates from {origin}",
        "fr": "{organisation} est basée à {based_in} et originaire de {origin}",
    },
    "bridge.none": {
        "en": "no migrant organisation links their territories",
        "fr": "aucune organisation de migrants ne relie leurs territoires",
    },
    "network.none": {"en": "no network in common", "fr": "aucun réseau commun"},
    "network.shared": {
        "en": "members of the same network: {names}",
        "fr": "membres du même réseau : {names}",
    },
    "crowding.coordinated": {
        "en": "partners already at work there coordinate",
        "fr": "les partenaires déjà à l'œuvre sur place se coordonnent",
    },
    "crowding.crowd": {
        "en": "{count} uncoordinated partners already work there ({names}): join them rather "
        "than add another bilateral tie",
        "fr": "{count} partenaires non coordonnés y travaillent déjà ({names}) : les rejoindre "
        "plutôt qu'ajouter un lien bilatéral de plus",
    },
}

_NOUNS: dict[str, dict[Language, tuple[str, str]]] = {
    "partner": {"en": ("partner", "partners"), "fr": ("partenaire", "partenaires")},
    "actor": {"en": ("actor", "actors"), "fr": ("acteur", "acteurs")},
}

# A kind with its article, as a reason names it ("an association", "une association").
_KINDS_FR = {
    "local_authority": "une collectivité",
    "association": "une association",
    "migrant_organisation": "une organisation de migrants",
    "resource_centre": "un centre de ressources",
    "network": "un réseau",
    "public_body": "un organisme public",
    "business": "une entreprise",
    "country": "un pays",
}


def say(language: Language, key: str, **values: Any) -> str:
    return _TEMPLATES[key][language].format(**values)


def plural(language: Language, noun: str, count: int) -> str:
    one, many = _NOUNS[noun][language]
    return many if count > 1 else one


def number(language: Language, value: float, digits: int) -> str:
    """A decimal number as each language writes it (1.2 / 1,2)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "fr" else text


def article_kind(language: Language, kind: str) -> str:
    if language == "fr":
        return _KINDS_FR.get(kind, "un autre acteur")
    words = kind.replace("_", " ")
    return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


def theme_names(language: Language, codes: list[str]) -> str:
    """The themes as a reason lists them: the codes in English (as the API always has), the
    labels in French."""
    if language == "en":
        return ", ".join(codes)
    return ", ".join((theme.label_fr if (theme := get_theme(c)) else c) for c in codes)
