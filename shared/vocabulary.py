"""The closed lists and code checks that both services validate against.

The registry refuses a value outside these lists on input, and the matching service refuses
the same value as a filter, so a client gets one answer (422, naming the field) from both.
"""

from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator

from shared.countries import is_country_code
from shared.themes import is_known_theme

__all__ = [
    "ActorKind",
    "ConventionKind",
    "CountryCode",
    "CurrencyCode",
    "Level",
    "PartyRole",
    "RelationshipKind",
    "Status",
    "ThemeCode",
    "label_fr",
]


class ActorKind(StrEnum):
    local_authority = "local_authority"
    association = "association"
    migrant_organisation = "migrant_organisation"
    resource_centre = "resource_centre"
    network = "network"
    public_body = "public_body"
    business = "business"
    other = "other"


class Level(StrEnum):
    municipality = "municipality"
    intermunicipality = "intermunicipality"
    department = "department"
    region = "region"
    state = "state"
    other = "other"


class ConventionKind(StrEnum):
    twinning = "twinning"
    decentralised_cooperation = "decentralised_cooperation"
    partnership = "partnership"
    funding = "funding"
    memorandum = "memorandum"


class PartyRole(StrEnum):
    signatory = "signatory"
    lead = "lead"
    partner = "partner"
    operator = "operator"
    funder = "funder"


class Status(StrEnum):
    draft = "draft"
    active = "active"
    suspended = "suspended"
    ended = "ended"


class RelationshipKind(StrEnum):
    member_of = "member_of"
    supports = "supports"
    coordinates = "coordinates"


def _strip_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _country(code: str) -> str:
    if not is_country_code(code):
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code (or XK, Kosovo)")
    return code


def _currency(code: str) -> str:
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


def _theme(code: str) -> str:
    if not is_known_theme(code):
        raise ValueError(f"unknown theme '{code}'; see GET /v1/themes for the vocabulary")
    return code


CountryCode = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_country)]
CurrencyCode = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_currency)]
ThemeCode = Annotated[str, AfterValidator(_theme)]


# French labels shown next to codes in exports and to the people of the field. StrEnum members
# of different lists compare equal (ActorKind.other == Level.other), so labels go by list.
_LABELS_FR: dict[type[StrEnum], dict[str, str]] = {
    ActorKind: {
        "local_authority": "Collectivité territoriale",
        "association": "Association de solidarité internationale",
        "migrant_organisation": "Organisation de solidarité issue des migrations (OSIM)",
        "resource_centre": "Centre de ressources",
        "network": "Réseau",
        "public_body": "Organisme public",
        "business": "Entreprise",
        "other": "Autre",
    },
    Level: {
        "municipality": "Commune",
        "intermunicipality": "Intercommunalité (EPCI)",
        "department": "Département",
        "region": "Région",
        "state": "État",
        "other": "Autre niveau",
    },
    ConventionKind: {
        "twinning": "Jumelage",
        "decentralised_cooperation": "Coopération décentralisée",
        "partnership": "Partenariat",
        "funding": "Financement",
        "memorandum": "Protocole d'accord",
    },
    PartyRole: {
        "signatory": "signataire",
        "lead": "chef de file",
        "partner": "partenaire",
        "operator": "opérateur",
        "funder": "financeur",
    },
    Status: {
        "draft": "Projet (brouillon)",
        "active": "En cours",
        "suspended": "Suspendu",
        "ended": "Terminé",
    },
    RelationshipKind: {
        "member_of": "membre de",
        "supports": "soutient",
        "coordinates": "coordonne",
    },
}


def label_fr(value: StrEnum | None, vocabulary: type[StrEnum] | None = None) -> str:
    """The French label of a value of one of the closed lists ('' for None).

    >>> label_fr(Level.other), label_fr("twinning", ConventionKind)
    ('Autre niveau', 'Jumelage')
    """
    if value is None:
        return ""
    vocabulary = vocabulary or type(value)
    return _LABELS_FR.get(vocabulary, {}).get(str(value), str(value))
