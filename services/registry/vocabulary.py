"""Closed lists of the registry and the field-level checks of identifiers and codes.

The closed lists and the country, currency and theme checks are the ones in
`shared.vocabulary`, which the matching service validates its filters against too; they are
re-exported here so the registry has one place to import its vocabulary from. These checks
look at one value alone; rules that relate several fields (an INSEE code only
on a French local authority, a period that ends after it starts) live in the domain modules.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from shared.vocabulary import (
    ActorKind,
    ConventionKind,
    CountryCode,
    CurrencyCode,
    Level,
    PartyRole,
    RelationshipKind,
    Status,
    ThemeCode,
)

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


def _compact(value: object) -> object:
    """Identifiers are often written with spaces ("215 903 501"); store them without."""
    return re.sub(r"\s+", "", value).upper() if isinstance(value, str) else value


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
