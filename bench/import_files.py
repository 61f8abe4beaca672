"""Build the import benchmark's two CSV files from the real Wikidata sister-city network.

    python bench/import_files.py [TSV] [--out FOLDER] [--actors 17717] [--twinnings 23322]

TSV is the network as the shared data folder gives it (columns qid_a, name_a, country_a, qid_b,
name_b, country_b; 17,401 ties between 10,055 places, a country as an English name or empty).
It defaults to the copy in `datasets/` (source and licence in `datasets/README.md`).

Two files are written in FOLDER (default `bench/.cache/`):

- `actors.csv`: columns id, kind, name, level, country, wikidata_qid. One row per place, kind
  `local_authority`, level `municipality` (Wikidata's sister cities are mostly towns; the few
  counties and regions among them are not told apart), the country exactly as the TSV writes it
  ("Germany", "England", "Czech Republic"): the importer resolves the names itself.
- `twinnings.csv`: columns id, kind, title, parties. One row per tie, id `tw-<n>`, kind
  `twinning`, title `Jumelage A – B`, parties `idA=signatory;idB=signatory` naming the actors by
  the actors file's own ids (so both files must be imported with the same `--source`).

How 10,055 places and 17,401 ties become exactly 17,717 actors and 23,322 twinnings, every row
importable, without inventing anything:

1. Only places whose country the registry resolves are kept (6,189 of them; those with no
   country, and the 9 whose country the importer refuses, such as "Guadeloupe, France", are
   left out: giving them a country would be a guess). Ties are kept when both places are
   (8,118). The check uses the project's own resolver, `shared.countries.resolve_country`, so
   the files follow it if it changes.
2. The network is repeated: copy 1 has the places with their QID as `id` and `wikidata_qid`;
   copy k ≥ 2 has ids `<QID>#k`, no `wikidata_qid` (a QID names one actor) and names suffixed
   " (k)". Ties are repeated between the copies' places.
3. The actor rows are cut at the target count (places in the order they first appear in the
   TSV, copy after copy), then the twinning rows, counting only ties whose two places made it
   into the actors file, are cut at theirs (ties in TSV order, copy after copy).

With the real network that is 2 full copies plus the first 5,339 places of a third for the
actors, and 8,118 × 2 + 7,086 of the 7,303 ties among those for the twinnings. Copies 2 and 3
have the same names as copy 1 with a suffix, so the importer's likely-duplicate check sees
realistic near-namesakes; it reports them and still creates the rows.
"""

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from shared.countries import CountryNotFound, resolve_country  # noqa: E402

__all__ = [
    "ACTORS",
    "DEFAULT_OUT",
    "DEFAULT_TSV",
    "TWINNINGS",
    "BuiltFiles",
    "Place",
    "build",
    "network",
    "write_csv",
]

DEFAULT_TSV = REPO / "datasets" / "wikidata_sister_cities.tsv"
DEFAULT_OUT = REPO / "bench" / ".cache"
ACTORS = 17_717
TWINNINGS = 23_322
ACTOR_COLUMNS = ("id", "kind", "name", "level", "country", "wikidata_qid")
TWINNING_COLUMNS = ("id", "kind", "title", "parties")


@dataclass(frozen=True)
class BuiltFiles:
    actors: Path
    twinnings: Path
    actor_rows: int
    twinning_rows: int
    places: int
    ties: int
    copies: int


@dataclass(frozen=True)
class Place:
    qid: str
    name: str
    country: str


def build(
    tsv: Path = DEFAULT_TSV,
    out: Path = DEFAULT_OUT,
    *,
    actors: int = ACTORS,
    twinnings: int = TWINNINGS,
) -> BuiltFiles:
    """Write `actors.csv` and `twinnings.csv` in `out`; see the module's docstring."""
    places, ties = network(tsv)
    if not places:
        raise SystemExit(f"{tsv}: no place with a country the registry resolves")
    actor_rows: list[list[str]] = []
    included: set[str] = set()
    copy = 0
    while len(actor_rows) < actors:
        copy += 1
        for place in places:
            if len(actor_rows) == actors:
                break
            ref = _ref(place.qid, copy)
            name = _name(place, copy)
            qid = place.qid if copy == 1 else ""
            actor_rows.append([ref, "local_authority", name, "municipality", place.country, qid])
            included.add(ref)
    by_qid = {place.qid: place for place in places}
    twinning_rows: list[list[str]] = []
    for tie_copy in range(1, copy + 1):
        for a, b in ties:
            if len(twinning_rows) == twinnings:
                break
            ref_a, ref_b = _ref(a, tie_copy), _ref(b, tie_copy)
            if ref_a not in included or ref_b not in included:
                continue
            name_a, name_b = _name(by_qid[a], tie_copy), _name(by_qid[b], tie_copy)
            twinning_rows.append(
                [
                    f"tw-{len(twinning_rows) + 1}",
                    "twinning",
                    f"Jumelage {name_a} – {name_b}",
                    f"{ref_a}=signatory;{ref_b}=signatory",
                ]
            )
    if len(twinning_rows) < twinnings:
        raise SystemExit(
            f"only {len(twinning_rows)} twinnings between the {actors} actors; ask for fewer "
            "twinnings or more actors"
        )
    out.mkdir(parents=True, exist_ok=True)
    actors_path, twinnings_path = out / "actors.csv", out / "twinnings.csv"
    write_csv(actors_path, ACTOR_COLUMNS, actor_rows)
    write_csv(twinnings_path, TWINNING_COLUMNS, twinning_rows)
    return BuiltFiles(
        actors=actors_path,
        twinnings=twinnings_path,
        actor_rows=len(actor_rows),
        twinning_rows=len(twinning_rows),
        places=len(places),
        ties=len(ties),
        copies=copy,
    )


def _ref(qid: str, copy: int) -> str:
    return qid if copy == 1 else f"{qid}#{copy}"


def _name(place: Place, copy: int) -> str:
    return place.name if copy == 1 else f"{place.name} ({copy})"


def network(tsv: Path) -> tuple[list[Place], list[tuple[str, str]]]:
    """Places with a resolvable country, in order of first appearance, and the ties between them."""
    places: dict[str, Place] = {}
    pairs: list[tuple[str, str]] = []
    with tsv.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file, delimiter="\t"):
            for side in ("a", "b"):
                qid = row[f"qid_{side}"].strip()
                if qid not in places:
                    places[qid] = Place(
                        qid, row[f"name_{side}"].strip(), row[f"country_{side}"].strip()
                    )
            pairs.append((row["qid_a"].strip(), row["qid_b"].strip()))
    kept = [place for place in places.values() if _resolves(place.country)]
    known = {place.qid for place in kept}
    seen: set[frozenset[str]] = set()
    ties = []
    for a, b in pairs:
        key = frozenset((a, b))
        if a != b and a in known and b in known and key not in seen:
            seen.add(key)
            ties.append((a, b))
    return kept, ties


def _resolves(country: str) -> bool:
    if not country:
        return False
    try:
        resolve_country(country)
    except CountryNotFound:
        return False
    return True


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tsv", nargs="?", type=Path, default=DEFAULT_TSV)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--actors", type=int, default=ACTORS)
    parser.add_argument("--twinnings", type=int, default=TWINNINGS)
    args = parser.parse_args(argv)
    built = build(args.tsv, args.out, actors=args.actors, twinnings=args.twinnings)
    print(
        f"{built.actor_rows} actors → {built.actors}\n"
        f"{built.twinning_rows} twinnings → {built.twinnings}\n"
        f"(from {built.places} places with a resolved country and {built.ties} ties between "
        f"them, {built.copies} copies)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
