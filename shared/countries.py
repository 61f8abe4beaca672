"""Countries: ISO 3166-1 codes, their labels, and names as people write them in files.

pycountry gives the codes and their English and French names. Two things it does not give:
- Kosovo. `XK` is a user-assigned code, not in ISO 3166-1, yet the European Commission, IATI
  (its Country codelist) and most data sets use it; the registry accepts it everywhere.
- The short names people write ("Russia", "Ivory Coast", "Corée du Sud"). A few usual ones are
  listed below; a name that is still unknown, or that fits several countries, is reported to
  the person importing, never guessed.
"""

import gettext
from dataclasses import dataclass
from functools import cache

import pycountry

from shared.text import fold

__all__ = [
    "KOSOVO",
    "CountryNotFound",
    "country_label",
    "is_country_code",
    "resolve_country",
]

KOSOVO = "XK"
_KOSOVO_NAMES = {"en": "Kosovo", "fr": "Kosovo"}

# Names in common use that pycountry does not carry (English and French).
_ALIASES = {
    "CD": ["Democratic Republic of the Congo", "DR Congo", "RD Congo", "RDC"],
    "CG": ["Republic of the Congo", "Congo-Brazzaville"],
    "CI": ["Ivory Coast", "Cote d'Ivoire"],
    "CV": ["Cape Verde", "Cap-Vert"],
    "CZ": ["Czech Republic", "République tchèque", "Tchéquie"],
    "FK": ["Falkland Islands", "Îles Malouines"],
    "GB": [
        "UK",
        "Great Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Angleterre",
        "Écosse",
        "Pays de Galles",
        "Grande-Bretagne",
    ],
    "IE": ["Republic of Ireland"],
    "IR": ["Iran"],
    "KR": ["South Korea", "Corée du Sud"],
    "KP": ["North Korea", "Corée du Nord"],
    "LA": ["Laos"],
    "MD": ["Moldova", "Moldavie"],
    "MK": ["Macedonia", "Macédoine"],
    "MM": ["Burma", "Birmanie"],
    "PS": ["Palestine", "Palestinian territories", "Territoires palestiniens"],
    "RU": ["Russia", "Russie"],
    "SY": ["Syria", "Syrie"],
    "SZ": ["Swaziland"],
    "TR": ["Turkey", "Turquie"],
    "TZ": ["Tanzania", "Tanzanie"],
    "US": ["USA", "United States of America", "Etats-Unis d'Amérique"],
    "VA": ["Vatican"],
    "VE": ["Venezuela"],
    "VN": ["Vietnam"],
    "BO": ["Bolivia", "Bolivie"],
    KOSOVO: ["Kosovo", "Kosova"],
}


class CountryNotFound(ValueError):
    """A value that names no country, or several: the message says which."""


@cache
def _french() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"], fallback=True)


def is_country_code(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code, and for XK (Kosovo)."""
    return len(code) == 2 and (code == KOSOVO or pycountry.countries.get(alpha_2=code) is not None)


def country_label(code: str, language: str = "fr") -> str:
    """The country's name in French or English ("Sénégal", "Senegal"), or the code if unknown."""
    if code == KOSOVO:
        return _KOSOVO_NAMES.get(language, "Kosovo")
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    english = getattr(country, "common_name", None) or country.name
    if language != "fr":
        return english
    return _french().gettext(country.name)


@dataclass(frozen=True)
class _Index:
    # Each tier maps a folded name to the codes it may mean; earlier tiers win.
    tiers: tuple[dict[str, set[str]], ...]


@cache
def _index() -> _Index:
    codes: dict[str, set[str]] = {}
    names: dict[str, set[str]] = {}
    short: dict[str, set[str]] = {}

    def add(tier: dict[str, set[str]], name: str | None, code: str) -> None:
        if name:
            tier.setdefault(fold(name), set()).add(code)

    for country in pycountry.countries:
        code = country.alpha_2
        add(codes, code, code)
        add(codes, country.alpha_3, code)
        french = _french().gettext(country.name)
        for name in (
            country.name,
            getattr(country, "official_name", None),
            getattr(country, "common_name", None),
            french,
        ):
            add(names, name, code)
            # "Korea, Republic of" is also written "Korea": a weaker tier, so that a name
            # shared this way (Korea: KP and KR) is reported as ambiguous.
            if name and "," in name:
                add(short, name.split(",")[0], code)
    add(codes, KOSOVO, KOSOVO)
    add(codes, "XKX", KOSOVO)
    for code, aliases in _ALIASES.items():
        for alias in aliases:
            add(names, alias, code)
    return _Index(tiers=(codes, names, short))


def resolve_country(value: str) -> str:
    """The alpha-2 code a code or a French or English name stands for.

    A place written with its country ("England, United Kingdom") is that country when every
    part that names one names the same.

    >>> resolve_country("Sénégal"), resolve_country("Ivory Coast"), resolve_country("xk")
    ('SN', 'CI', 'XK')
    >>> resolve_country("Wales, United Kingdom")
    'GB'
    """
    try:
        return _resolve(value)
    except CountryNotFound:
        if "," not in value:
            raise
    found: set[str] = set()
    for part in value.split(","):
        try:
            found.add(_resolve(part))
        except CountryNotFound:
            continue
    if len(found) == 1:
        return found.pop()
    if found:
        options = ", ".join(f"{code} ({country_label(code, 'en')})" for code in sorted(found))
        raise CountryNotFound(f"'{value}' may be {options}; give the ISO code")
    return _resolve(value)


def _resolve(value: str) -> str:
    key = fold(value)
    if not key:
        raise CountryNotFound("empty country")
    for tier in _index().tiers:
        found = tier.get(key)
        if not found:
            continue
        if len(found) > 1:
            options = ", ".join(f"{code} ({country_label(code, 'en')})" for code in sorted(found))
            raise CountryNotFound(f"'{value}' may be {options}; give the ISO code")
        return next(iter(found))
    raise CountryNotFound(
        f"'{value}' is not a country code or name known to ISO 3166-1; "
        "give the alpha-2 code (XK for Kosovo)"
    )
