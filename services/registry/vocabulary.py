"""Closed lists of the registry and the field-level checks of identifiers and codes.

These checks look at one value alone; rules that relate several fields (an INSEE code only
on a French local authority, a period that ends after it starts) live in the domain modules.
"""

import re
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
    "IatiId",
    "InseeCode",
    "Level",
    "PartyRole",
    "RelationshipKind",
    "Rna",
    "Siren",
    "Status",
    "ThemeCode",
    "WikidataQid",
    "luhn_valid",
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


def _compact(value: object) -> object:
    """Identifiers are often written with spaces ("215 903 501"); store them without."""
    return re.sub(r"\s+", "", value).upper() if isinstance(value, str) else value


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


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum used by SIREN numbers."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _siren(value: str) -> str:
    if not re.fullmatch(r"\d{9}", value):
        raise ValueError("a SIREN number is 9 digits")
    if not luhn_valid(value):
        raise ValueError(f"SIREN '{value}' fails its Luhn checksum")
    return value


def _pattern(regex: str, message: str):
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return check


CountryCode = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_country)]
CurrencyCode = Annotated[str, BeforeValidator(_strip_upper), AfterValidator(_currency)]
ThemeCode = Annotated[str, AfterValidator(_theme)]
Siren = Annotated[str, BeforeValidator(_compact), AfterValidator(_siren)]
Rna = Annotated[
    str,
    BeforeValidator(_compact),
    AfterValidator(_pattern(r"W\d{9}", "an RNA number is 'W' followed by 9 digits")),
]
InseeCode = Annotated[
    str,
    BeforeValidator(_compact),
    AfterValidator(
        _pattern(
            r"\d{5}|2[AB]\d{3}|\d{2,3}|2[AB]",
            "an INSEE COG code has 5 characters for a commune (2A/2B for Corsica), "
            "2 or 3 for a département, 2 for a région",
        )
    ),
]
WikidataQid = Annotated[
    str,
    BeforeValidator(_compact),
    AfterValidator(_pattern(r"Q[1-9]\d*", "a Wikidata identifier is 'Q' followed by digits")),
]
IatiId = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    AfterValidator(
        _pattern(
            r"[A-Za-z]{2}-[A-Za-z0-9._/-]+",
            "an IATI organisation identifier starts with a registration agency prefix, "
            "e.g. 'FR-RNA-W751234567' or 'XM-DAC-41114'",
        )
    ),
]
