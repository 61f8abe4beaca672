"""Conventions among local authorities: the network's agreements as twinnings, decentralised
cooperation agreements, partnerships and memoranda, with themes, periods, statuses, budgets."""

from datetime import date, timedelta

import numpy as np

from services.registry.generate.model import DataSet, WorkRow
from services.registry.generate.network import Agreement, Network
from services.registry.generate.periods import (
    REFERENCE_DATE,
    Picker,
    budget,
    day_in,
    status_of,
)
from services.registry.generate.reference import Country

__all__ = ["add_agreements", "focus_themes"]

_KINDS = {
    "local": (("decentralised_cooperation", 80), ("partnership", 10), ("memorandum", 10)),
    "twin": (("twinning", 85), ("partnership", 8), ("memorandum", 7)),
    "coop": (
        ("decentralised_cooperation", 75),
        ("partnership", 12),
        ("memorandum", 8),
        ("twinning", 5),
    ),
    "mixed": (
        ("twinning", 45),
        ("decentralised_cooperation", 40),
        ("partnership", 10),
        ("memorandum", 5),
    ),
}
_TITLES = {
    "twinning": "Jumelage",
    "decentralised_cooperation": "Coopération décentralisée",
    "partnership": "Partenariat",
    "memorandum": "Protocole d'accord",
}


def focus_themes(
    picker: Picker, data: DataSet, places: list[int], countries: dict[str, Country]
) -> dict[int, str]:
    """Each foreign place's main theme: what most of the work there is about, which is how
    several territories end up on the same theme in the same town."""
    return {p: picker.theme(countries[data.actors[p].country].style) for p in places}


def _pick(rng: np.random.Generator, options: tuple[tuple[str, int], ...]) -> str:
    weights = np.array([w for _, w in options], dtype=float)
    return options[int(rng.choice(len(options), p=weights / weights.sum()))][0]


def add_agreements(
    rng: np.random.Generator,
    picker: Picker,
    data: DataSet,
    network: Network,
    countries: dict[str, Country],
    focus: dict[int, str],
) -> None:
    for agreement in network.agreements:
        data.conventions.append(
            _convention(rng, picker, data, agreement, countries, focus, len(data.conventions) + 1)
        )


def _convention(
    rng: np.random.Generator,
    picker: Picker,
    data: DataSet,
    agreement: Agreement,
    countries: dict[str, Country],
    focus: dict[int, str],
    number: int,
) -> WorkRow:
    actors = data.actors
    parties = agreement.parties
    french = [p for p in parties if actors[p].country == "FR"]
    foreign = [p for p in parties if actors[p].country != "FR"]
    target = foreign[0] if len(foreign) == 1 else agreement.target if len(french) >= 2 else None
    names = [actors[p].name for p in parties]
    if not foreign:
        # Three French authorities closing a triangle (a département and two of its towns).
        return WorkRow(
            ref=f"conv-{number:06d}",
            title=f"Partenariat {' – '.join(names)}",
            kind="partnership",
            parties=[(p, "signatory") for p in parties],
            themes=picker.themes("mixed", 1),
            status="active",
            signed_on=(signed := day_in(rng, int(rng.integers(2000, REFERENCE_DATE.year)))),
            starts_on=signed,
        )
    country = countries[actors[(target if target is not None else foreign[0])].country]
    if agreement.kind == "bilateral":
        local = actors[french[0]].level in ("region", "department", "intermunicipality")
        kind = _pick(rng, _KINDS["local" if local else country.style])
        title = f"{_TITLES[kind]} {names[0]} – {names[1]}"
    elif agreement.kind == "cosigned":
        kind = "decentralised_cooperation"
        title = f"Coopération décentralisée {names[0]} et {names[1]} – {names[2]}"
    elif agreement.kind == "charter":
        kind = "twinning"
        title = f"Charte d'amitié multilatérale {', '.join(names[:3])} et {len(names) - 3} autres"
        if len(names) == 3:
            title = f"Charte d'amitié multilatérale {', '.join(names)}"
    elif len(french) >= 2:
        kind = "decentralised_cooperation"
        shared = [actors[p].name for p in foreign]
        title = f"Coopération conjointe {', '.join(actors[p].name for p in french)} – " + (
            ", ".join(shared)
        )
    elif all(countries[actors[p].country].style != "coop" for p in foreign):
        kind = "twinning"
        title = f"Jumelage triangulaire {' – '.join(names)}"
    else:
        kind = "decentralised_cooperation"
        title = f"Coopération tripartite {' – '.join(names)}"
    style = "twin" if kind == "twinning" else country.style if kind != "memorandum" else "mixed"
    count = int(rng.choice((1, 2, 3), p=(0.45, 0.4, 0.15)))
    themes = picker.themes(
        style, count, focus=focus.get(target if target is not None else foreign[0]), p_focus=0.6
    )
    roles = ["signatory"] * len(parties)
    if agreement.kind == "cosigned" and rng.random() < 0.5:
        roles[1] = "funder"
    signed_on, starts_on, ends_on = _period(rng, kind)
    status = status_of(rng, ends_on, country.iso)
    if rng.random() < 0.01:
        signed_on, status = None, "draft"
        starts_on, ends_on = day_in(rng, REFERENCE_DATE.year), None
    amount = None
    if kind == "decentralised_cooperation" and rng.random() < 0.7:
        amount = budget(rng, 60_000)
    elif kind == "partnership" and rng.random() < 0.4:
        amount = budget(rng, 20_000)
    elif kind == "twinning" and rng.random() < 0.08:
        amount = budget(rng, 8_000, 0.6)
    return WorkRow(
        ref=f"conv-{number:06d}",
        title=title,
        kind=kind,
        parties=list(zip(parties, roles, strict=True)),
        target=target,
        themes=themes,
        status=status,
        signed_on=signed_on,
        starts_on=starts_on,
        ends_on=ends_on,
        budget=amount,
    )


def _period(rng: np.random.Generator, kind: str) -> tuple[date, date, date | None]:
    """Twinnings from the 1950s on (most between the 1970s and 1990s), open-ended; agreements
    of cooperation since the law of 1992, for three to six years, often renewed."""
    if kind == "twinning":
        year = int(np.clip(round(rng.normal(1986, 14)), 1952, REFERENCE_DATE.year - 1))
        signed = day_in(rng, year)
        ends = None
        if rng.random() < 0.08:
            ends = signed + timedelta(days=int(rng.integers(5, 30) * 365))
            ends = ends if ends < REFERENCE_DATE else None
        return signed, signed, ends
    year = int(np.clip(round(rng.normal(2010, 8)), 1985, REFERENCE_DATE.year - 1))
    signed = day_in(rng, year)
    starts = signed + timedelta(days=int(rng.integers(0, 120)))
    ends: date | None = starts + timedelta(days=int(rng.integers(3, 7)) * 365)
    if ends is not None and ends < REFERENCE_DATE and rng.random() < 0.45:
        ends = None  # renewed tacitly: still running
    return signed, starts, ends
