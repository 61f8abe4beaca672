"""The generator's reference data, read from the compact files in `data/` (see its README):
French communes, départements and régions (INSEE), countries with their reference points and
the weights of their ties with France, and real foreign place names (Wikidata)."""

import csv
import gzip
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

__all__ = [
    "AFFINITIES",
    "Commune",
    "Country",
    "Department",
    "Reference",
    "Region",
    "load_reference",
]


@dataclass(frozen=True)
class Commune:
    insee: str
    department: str
    region: str
    name: str
    lat: float | None
    lng: float | None
    population: int


@dataclass(frozen=True)
class Department:
    insee: str
    region: str
    name: str
    name_de: str  # "du Nord", "de l'Ain": what follows "Département"
    lat: float
    lng: float
    chef_lieu: str


@dataclass(frozen=True)
class Region:
    insee: str
    name: str
    name_de: str
    lat: float
    lng: float
    chef_lieu: str


@dataclass(frozen=True)
class Country:
    iso: str
    lat: float
    lng: float
    radius: float  # degrees around the reference point where its places are drawn
    weight: float  # relative share of French authorities' foreign ties
    diaspora: float  # relative share of migrant organisations' origins
    style: str  # twin (mostly twinnings), coop (mostly decentralised cooperation), mixed
    lang: str  # language of its associations' names
    group: str  # pool of names its new place names are learned from
    demonym: str  # French, plural ("maliens"), for diaspora federations; may be empty


# Regional preferences of French authorities (région code → country → multiplier of its
# weight): borders, languages, history and diasporas. Approximate, for realism.
AFFINITIES: dict[str, dict[str, float]] = {
    "11": {"ML": 3, "SN": 3, "MR": 2.5, "CI": 2, "DZ": 1.5, "HT": 2, "CN": 1.5, "VN": 1.5,
           "PS": 1.5, "LB": 1.5, "KM": 1.2, "CM": 1.5},
    "24": {"DE": 1.2, "BF": 1.3},
    "27": {"DE": 2, "CH": 2.5, "BF": 1.3},
    "28": {"GB": 3, "IE": 1.5, "CA": 1.5},
    "32": {"GB": 2.5, "BE": 3, "PL": 1.5, "SN": 1.3},
    "44": {"DE": 3, "LU": 4, "PL": 1.5, "CZ": 1.5},
    "52": {"GB": 1.5, "IE": 1.5, "DE": 1.2, "MG": 1.5},
    "53": {"GB": 3, "IE": 3, "DE": 1.3, "BF": 1.2},
    "75": {"ES": 2, "PT": 2.5, "MA": 1.3},
    "76": {"ES": 3, "IT": 1.5, "MA": 1.5, "DZ": 1.3},
    "84": {"IT": 2, "CH": 1.5, "BF": 1.3, "AM": 2},
    "93": {"IT": 3, "DZ": 1.5, "TN": 1.5, "LB": 1.2, "AM": 2, "KM": 2},
    "94": {"IT": 4, "TN": 1.5},
    "01": {"HT": 8, "DO": 5, "CU": 5},
    "02": {"HT": 8, "DO": 5, "CU": 5},
    "03": {"BR": 8, "SR": 8, "HT": 3},
    "04": {"MG": 8, "MU": 8, "KM": 6},
    "06": {"KM": 15, "MG": 6},
}  # fmt: skip

# Countries whose real place names only help learn a group's names (they get no places).
POOL_ONLY: dict[str, str] = {
    **dict.fromkeys(("NG", "SL", "LR", "GM"), "west_central_africa"),
    **dict.fromkeys(("UG", "MW", "ZM", "ZW", "NA", "BW", "SZ", "AO"), "east_africa"),
    **dict.fromkeys(("PK", "BD", "LK", "NP"), "south_asia"),
    **dict.fromkeys(("MY", "ID"), "southeast_asia"),
    **dict.fromkeys(("SY", "IQ", "YE", "AE", "SA", "QA", "BH"), "arabic"),
    **dict.fromkeys(("BY", "KZ"), "east_slavic"),
    "AZ": "turkish",
    "ME": "balkan",
    "TW": "chinese",
    "NZ": "anglo",
    "ST": "lusophone",
    **dict.fromkeys(("EC", "VE", "UY", "SV", "GT", "CR", "HN", "PY"), "hispanic"),
}


@dataclass(frozen=True)
class Reference:
    communes: tuple[Commune, ...]
    departments: dict[str, Department]
    regions: dict[str, Region]
    countries: tuple[Country, ...]
    # Real place names by country (ISO code), in file order.
    foreign_names: dict[str, tuple[str, ...]]


def _rows(name: str) -> list[dict[str, str]]:
    raw = files("services.registry.generate").joinpath("data", name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def _float(value: str) -> float | None:
    return float(value) if value else None


@cache
def load_reference() -> Reference:
    communes = tuple(
        Commune(
            insee=row["insee"],
            department=row["department"],
            region=row["region"],
            name=row["name"],
            lat=_float(row["lat"]),
            lng=_float(row["lng"]),
            population=int(row["population"] or 0),
        )
        for row in _rows("communes.csv.gz")
    )
    departments = {
        row["insee"]: Department(
            insee=row["insee"],
            region=row["region"],
            name=row["name"],
            name_de=row["name_de"],
            lat=float(row["lat"]),
            lng=float(row["lng"]),
            chef_lieu=row["chef_lieu"],
        )
        for row in _rows("departements.csv")
    }
    regions = {
        row["insee"]: Region(
            insee=row["insee"],
            name=row["name"],
            name_de=row["name_de"],
            lat=float(row["lat"]),
            lng=float(row["lng"]),
            chef_lieu=row["chef_lieu"],
        )
        for row in _rows("regions.csv")
    }
    countries = tuple(
        Country(
            iso=row["iso"],
            lat=float(row["lat"]),
            lng=float(row["lng"]),
            radius=float(row["radius"]),
            weight=float(row["weight"]),
            diaspora=float(row["diaspora"]),
            style=row["style"],
            lang=row["lang"],
            group=row["group"],
            demonym=row["demonym"],
        )
        for row in _rows("countries.csv")
    )
    names: dict[str, list[str]] = {}
    # Wikidata's sister cities, then a few real towns of the countries of decentralised
    # cooperation, which have few there (data/README.md).
    for row in _rows("foreign_names.csv.gz") + _rows("extra_names.csv"):
        found = names.setdefault(row["country"], [])
        if row["name"] not in found:
            found.append(row["name"])
    return Reference(
        communes=communes,
        departments=departments,
        regions=regions,
        countries=countries,
        foreign_names={code: tuple(found) for code, found in names.items()},
    )
