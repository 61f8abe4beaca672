"""Themes, dates, statuses and budgets of conventions and projects."""

from datetime import date, timedelta

import numpy as np

from shared.themes import all_themes

__all__ = ["REFERENCE_DATE", "Picker", "budget", "day_in", "status_of"]

# "Today" for the data set, fixed so that the same seed gives the same statuses whenever it runs.
REFERENCE_DATE = date(2026, 1, 1)

# Relative weights of themes in the cooperation of each style of country: twinnings are about
# culture and youth, decentralised cooperation about water, health, education, food and local
# government. Codes are those of shared/data/themes.json.
_TWIN = {
    "culture": 25,
    "youth": 20,
    "education": 12,
    "global_citizenship_education": 8,
    "economic_development": 8,
    "sustainable_development": 7,
    "climate": 5,
    "governance_decentralisation": 4,
    "energy": 3,
    "peace": 3,
    "urban_development": 3,
    "social_solidarity_economy": 2,
}
_COOP = {
    "water_sanitation": 15,
    "health": 12,
    "education": 12,
    "agriculture_food_security": 12,
    "governance_decentralisation": 12,
    "economic_development": 7,
    "waste_management": 5,
    "energy": 5,
    "gender_equality": 5,
    "migration_development": 4,
    "climate": 4,
    "social_solidarity_economy": 3,
    "culture": 3,
    "youth": 3,
    "urban_development": 3,
    "sustainable_development": 3,
    "emergency_reconstruction": 2,
    "biodiversity": 2,
}
STYLES = {
    "twin": _TWIN,
    "coop": _COOP,
    "mixed": {t: _TWIN.get(t, 0) + _COOP.get(t, 0) for t in sorted({*_TWIN, *_COOP})},
}


class Picker:
    """Seeded draws of themes by style of cooperation."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        known = {theme.code for theme in all_themes()}
        self._tables: dict[str, tuple[list[str], np.ndarray]] = {}
        for style, weights in STYLES.items():
            codes = [code for code in weights if code in known]
            values = np.array([weights[c] for c in codes], dtype=float)
            self._tables[style] = (codes, np.cumsum(values / values.sum()))

    def theme(self, style: str) -> str:
        codes, cumulative = self._tables[style]
        return codes[min(int(np.searchsorted(cumulative, self.rng.random())), len(codes) - 1)]

    def themes(self, style: str, count: int, focus: str | None = None, p_focus: float = 0.0):
        """`count` distinct themes; the first is `focus` with probability `p_focus`."""
        chosen: list[str] = []
        if focus is not None and self.rng.random() < p_focus:
            chosen.append(focus)
        for _attempt in range(count * 6):
            if len(chosen) >= count:
                break
            theme = self.theme(style)
            if theme not in chosen:
                chosen.append(theme)
        return chosen


def day_in(rng: np.random.Generator, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))


def budget(rng: np.random.Generator, median: float, spread: float = 0.9) -> int:
    """A budget around `median`, rounded to 500."""
    return max(500, round(median * float(np.exp(rng.normal(0, spread))) / 500) * 500)


def status_of(rng: np.random.Generator, ends_on: date | None, country: str | None) -> str:
    """Ended when its period is over; suspended sometimes (often in the Sahel since 2022)."""
    if ends_on is not None and ends_on < REFERENCE_DATE:
        return "ended"
    if country in ("ML", "BF", "NE") and rng.random() < 0.4:
        return "suspended"
    return "suspended" if rng.random() < 0.02 else "active"
