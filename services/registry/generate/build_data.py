"""Rebuild the generator's reference files (`data/`) from their public sources.

    .venv/bin/python -m services.registry.generate.build_data \\
        --shared ../shared/data --sister-cities datasets/wikidata_sister_cities.tsv

Run by a developer when a source changes, never by the generator or the tests: they read only
the compact files written here. Sources and licences are in `data/README.md`.

- `communes.csv.gz`: one row per commune (INSEE type COM) of `rcarlier_france_communes.csv`,
  which has one row per commune and postcode. Paris, Lyon and Marseille appear there only as
  their arrondissements (type ARM): each becomes one commune with its own code (75056, 69123,
  13055), the sum of their populations and the population-weighted centre of their
  coordinates. Communes déléguées (COMD) are left out: they are not local authorities.
- `departements.csv`, `regions.csv`: code, région, name, the name after "de" (`du Nord`,
  `d'Ille-et-Vilaine`: French needs it to say "Département du Nord"), centre, chef-lieu.
- `foreign_names.csv.gz`: the names of the places of the Wikidata sister-city network whose
  country the registry resolves, other than France, by ISO code: real town names to draw
  foreign authorities' names from, and to learn plausible new ones from.
"""

import argparse
import csv
import gzip
import io
from collections import defaultdict
from pathlib import Path

from shared.countries import CountryNotFound, resolve_country

__all__ = ["main"]

DATA = Path(__file__).resolve().parent / "data"

# "de" + article for départements whose name does not start with a vowel: feminine (de la),
# plural (des); the others are masculine (du) or, starting with a vowel or a mute h, elided (de l').
_FEMININE = {
    "Charente",
    "Charente-Maritime",
    "Corrèze",
    "Corse-du-Sud",
    "Côte-d'Or",
    "Creuse",
    "Dordogne",
    "Drôme",
    "Gironde",
    "Guadeloupe",
    "Guyane",
    "Haute-Corse",
    "Haute-Garonne",
    "Haute-Loire",
    "Haute-Marne",
    "Haute-Saône",
    "Haute-Savoie",
    "Haute-Vienne",
    "Loire",
    "Loire-Atlantique",
    "Lozère",
    "Manche",
    "Marne",
    "Martinique",
    "Mayenne",
    "Meurthe-et-Moselle",
    "Meuse",
    "Moselle",
    "Nièvre",
    "Saône-et-Loire",
    "Sarthe",
    "Savoie",
    "Seine-Maritime",
    "Seine-Saint-Denis",
    "Seine-et-Marne",
    "Somme",
    "Vendée",
    "Vienne",
}
_PLURAL = {
    "Alpes-de-Haute-Provence",
    "Alpes-Maritimes",
    "Ardennes",
    "Bouches-du-Rhône",
    "Côtes-d'Armor",
    "Deux-Sèvres",
    "Hautes-Alpes",
    "Hautes-Pyrénées",
    "Hauts-de-Seine",
    "Landes",
    "Pyrénées-Atlantiques",
    "Pyrénées-Orientales",
    "Vosges",
    "Yvelines",
}
_NO_ARTICLE = {"Paris", "Mayotte", "La Réunion"}
_REGIONS_DE = {
    "01": "de la Guadeloupe",
    "02": "de la Martinique",
    "03": "de la Guyane",
    "04": "de La Réunion",
    "06": "de Mayotte",
    "11": "d'Île-de-France",
    "24": "du Centre-Val de Loire",
    "27": "de Bourgogne-Franche-Comté",
    "28": "de Normandie",
    "32": "des Hauts-de-France",
    "44": "du Grand Est",
    "52": "des Pays de la Loire",
    "53": "de Bretagne",
    "75": "de Nouvelle-Aquitaine",
    "76": "d'Occitanie",
    "84": "d'Auvergne-Rhône-Alpes",
    "93": "de Provence-Alpes-Côte d'Azur",
    "94": "de Corse",
}
_VOWELS = tuple("AEÉÈIOUYH")
# The three cities INSEE splits into arrondissements.
_CITIES = {"75056": "Paris", "69123": "Lyon", "13055": "Marseille"}


def department_de(name: str) -> str:
    """`du Nord`, `de la Somme`, `des Yvelines`, `de l'Ain`, `de Paris`."""
    if name in _NO_ARTICLE:
        return f"de {name}"
    if name in _PLURAL:
        return f"des {name}"
    # "Haute-" and "Haut-" begin with an aspirated h: no elision (de la Haute-Corse).
    if name.startswith(_VOWELS) and not name.startswith("Haut"):
        return f"de l'{name}"
    if name in _FEMININE:
        return f"de la {name}"
    return f"du {name}"


def _write(path: Path, header: list[str], rows: list[list[object]], *, compress: bool) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if compress:
        # mtime 0: the same rows give the same bytes.
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    print(f"{path.name}: {len(rows)} rows, {len(data):,} bytes")


def build_communes(source: Path) -> list[list[object]]:
    communes: dict[str, list[object]] = {}
    parts: dict[str, list[dict[str, str]]] = defaultdict(list)
    seen_parts: set[str] = set()
    with source.open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            code = row["insee_com"]
            if row["commune_type"] == "ARM":
                if code not in seen_parts:
                    seen_parts.add(code)
                    parts[row["insee_parente"]].append(row)
                continue
            if row["commune_type"] != "COM" or code in communes:
                continue
            communes[code] = [
                code,
                row["insee_dep"],
                row["insee_reg"],
                row["commune_article"] or row["commune"],
                row["lat"],
                row["lng"],
                row["population_2021"],
            ]
    for code, arrondissements in parts.items():
        population = sum(int(r["population_2021"] or 0) for r in arrondissements)
        lat = sum(float(r["lat"]) * int(r["population_2021"]) for r in arrondissements)
        lng = sum(float(r["lng"]) * int(r["population_2021"]) for r in arrondissements)
        first = arrondissements[0]
        communes[code] = [
            code,
            first["insee_dep"],
            first["insee_reg"],
            _CITIES[code],
            f"{lat / population:.5f}",
            f"{lng / population:.5f}",
            population,
        ]
    return [communes[code] for code in sorted(communes)]


def build_departments(source: Path) -> list[list[object]]:
    with source.open(encoding="utf-8") as file:
        return [
            [
                row["insee_dep"],
                row["insee_reg"],
                row["departement"],
                department_de(row["departement"]),
                row["lat"],
                row["lng"],
                row["insee_com_cheflieu"],
            ]
            for row in csv.DictReader(file)
        ]


def build_regions(source: Path) -> list[list[object]]:
    with source.open(encoding="utf-8") as file:
        return [
            [
                row["insee_reg"],
                row["region"],
                _REGIONS_DE[row["insee_reg"]],
                row["lat"],
                row["lng"],
                row["insee_reg_cheflieu"],
            ]
            for row in csv.DictReader(file)
        ]


def build_foreign_names(source: Path) -> list[list[object]]:
    names: set[tuple[str, str]] = set()
    with source.open(encoding="utf-8") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            for side in ("a", "b"):
                country, name = row[f"country_{side}"].strip(), row[f"name_{side}"].strip()
                if not country or not name or len(name) > 40:
                    continue
                try:
                    code = resolve_country(country)
                except CountryNotFound:
                    continue
                if code != "FR":
                    names.add((code, name))
    return [list(pair) for pair in sorted(names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared data folder")
    parser.add_argument(
        "--sister-cities",
        type=Path,
        default=Path("datasets/wikidata_sister_cities.tsv"),
        help="the Wikidata sister-city network (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    _write(
        args.out / "communes.csv.gz",
        ["insee", "department", "region", "name", "lat", "lng", "population"],
        build_communes(args.shared / "rcarlier_france_communes.csv"),
        compress=True,
    )
    _write(
        args.out / "departements.csv",
        ["insee", "region", "name", "name_de", "lat", "lng", "chef_lieu"],
        build_departments(args.shared / "rcarlier_france_departements.csv"),
        compress=False,
    )
    _write(
        args.out / "regions.csv",
        ["insee", "name", "name_de", "lat", "lng", "chef_lieu"],
        build_regions(args.shared / "rcarlier_france_regions.csv"),
        compress=False,
    )
    _write(
        args.out / "foreign_names.csv.gz",
        ["country", "name"],
        build_foreign_names(args.sister_cities),
        compress=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
