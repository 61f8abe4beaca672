"""The closed lists and code checks that both services validate against.

The registry refuses a value outside these lists on input, and the matching service refuses
the same value as a filter, so a client gets one answer (422, naming the field) from both.
"""

from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator

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
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code")
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
