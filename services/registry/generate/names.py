"""Plausible names: foreign places (real ones first, then new ones learned from a language
group's real names by a character model) and the organisations of the data set.

Every draw goes through the generator's seeded `numpy.random.Generator`, so names are the same
for the same seed."""

import bisect
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

__all__ = ["NameModel", "PlaceNamer"]

_START, _END = "\x02", "\x03"


class NameModel:
    """A character n-gram model of a list of names: new names that read like them."""

    def __init__(self, names: Sequence[str], order: int) -> None:
        self.order = order
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for name in names:
            padded = _START * order + name + _END
            for i in range(order, len(padded)):
                counts[padded[i - order : i]][padded[i]] += 1
        self._next: dict[str, tuple[list[str], list[float]]] = {}
        for context in sorted(counts):
            chars = sorted(counts[context])
            total = float(sum(counts[context].values()))
            cumulative, running = [], 0.0
            for char in chars:
                running += counts[context][char] / total
                cumulative.append(running)
            self._next[context] = (chars, cumulative)

    def draw(self, rng: np.random.Generator, max_length: int = 28) -> str:
        context, out = _START * self.order, []
        draws = rng.random(max_length + 1)
        for i in range(max_length + 1):
            chars, cumulative = self._next[context]
            char = chars[min(bisect.bisect_left(cumulative, draws[i]), len(chars) - 1)]
            if char == _END:
                break
            out.append(char)
            context = context[1:] + char
        return "".join(out)


class PlaceNamer:
    """Names of a country's places: its real names in a seeded order, then new ones."""

    def __init__(
        self,
        rng: np.random.Generator,
        real: dict[str, tuple[str, ...]],
        pools: dict[str, list[str]],
    ) -> None:
        self.rng = rng
        self.real = {code: list(names) for code, names in real.items()}
        for code in sorted(self.real):
            order = rng.permutation(len(self.real[code]))
            self.real[code] = [self.real[code][i] for i in order]
        self.pools = pools
        self.models: dict[str, NameModel] = {}
        self.used: dict[str, set[str]] = defaultdict(set)
        self.known: dict[str, set[str]] = {g: set(names) for g, names in pools.items()}

    def _model(self, group: str) -> NameModel:
        if group not in self.models:
            self.models[group] = NameModel(self.pools[group], 3)
        return self.models[group]

    def name(self, country: str, group: str, *, real_first: bool) -> str:
        used = self.used[country]
        real = self.real.get(country, [])
        if real_first:
            while real:
                candidate = real.pop()
                if candidate not in used:
                    used.add(candidate)
                    return candidate
        model = self._model(group)
        for _attempt in range(100):
            candidate = model.draw(self.rng).strip(" -'")
            if (
                _plausible(candidate)
                and candidate not in used
                and candidate not in self.known[group]
            ):
                used.add(candidate)
                return candidate
        # The group's names are all taken or reproduced: a real one of the group, numbered.
        pool = self.pools[group]
        base = pool[int(self.rng.integers(len(pool)))]
        number = 2
        while f"{base} {number}" in used:
            number += 1
        used.add(f"{base} {number}")
        return f"{base} {number}"


def _plausible(name: str) -> bool:
    """Short enough, a capital first, at most three words, none repeated or too long."""
    words = name.replace("-", " ").split()
    return (
        4 <= len(name) <= 22
        and name[0].isupper()
        and 1 <= len(words) <= 3
        and len(set(words)) == len(words)
        and all(len(word) <= 13 for word in words)
    )
