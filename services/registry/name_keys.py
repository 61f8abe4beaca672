"""Keys that find every name close enough to be a likely duplicate without reading all names.

Duplicate detection scores two comparable names (`shared.text.comparable_name`) with rapidfuzz's
`fuzz.ratio`, the normalised Indel similarity: 100 · (1 − d / (l₁ + l₂)), d counting insertions
and deletions. Scanning every name of a kind and country costs a millisecond per 30,000 names and
grows with the directory, so each stored name is cut into segments and only names sharing a
segment, at a compatible length and position, are scored (the pigeonhole filter of Li, Deng,
Wang and Feng, "PassJoin", VLDB 2011):

- a score of at least T bounds the distance: d ≤ r · (l₁ + l₂) with r = 1 − T/100, hence for a
  stored name of length l, d ≤ τ(l) = ⌊2rl / (1 − r)⌋ whatever the other name;
- the stored name is cut into τ(l) + 1 segments; an edit touches at most one of them, so a name
  within τ(l) edits contains one segment unchanged, shifted by at most τ(l) characters;
- a probe looks each segment up only at the lengths and positions where it can occur.

The filter never misses a name scoring at least `INDEX_THRESHOLD`; the caller scores the few
candidates it returns. Keys carry the kind and the country, the scope of the check.
"""

from collections.abc import Iterator
from functools import lru_cache

__all__ = ["INDEX_THRESHOLD", "probe_keys", "stored_keys"]

# Keys are cut for this score (the default threshold); a higher one uses them as they are, a
# lower one would need finer segments (the caller then scans instead).
INDEX_THRESHOLD = 92.0
_R = 1 - INDEX_THRESHOLD / 100


def _max_distance(length: int) -> int:
    # The small epsilon keeps 2rl/(1-r) from falling just below an integer in floating point.
    return int(2 * _R * length / (1 - _R) + 1e-9)


def _segments(length: int) -> list[tuple[int, int]]:
    """(start, length) of the τ(l) + 1 segments of a name of this length, shorter ones first."""
    count = _max_distance(length) + 1
    short, longer = divmod(length, count)
    segments, start = [], 0
    for index in range(count):
        size = short + (1 if index >= count - longer else 0)
        segments.append((start, size))
        start += size
    return segments


def _key(scope: str, length: int, index: int, segment: str) -> str:
    return f"{scope}|{_key_part(length, index)}{segment}"


def _key_part(length: int, index: int) -> str:
    """What a key holds between its scope and its segment."""
    return f"{length}|{index}|"


def _scope(kind: str, country: str) -> str:
    return f"{kind}|{country}"


def stored_keys(kind: str, country: str, comparable: str) -> list[str]:
    """The keys under which a stored name is found."""
    scope, length = _scope(kind, country), len(comparable)
    return [
        _key(scope, length, index, comparable[start : start + size])
        for index, (start, size) in enumerate(_segments(length))
    ]


def _lengths(length: int) -> Iterator[int]:
    """Lengths of stored names that can score at least the threshold with one of this length."""
    # |l - m| ≤ d ≤ r (l + m)  ⇔  m (1 - r) / (1 + r) ≤ l ≤ m (1 + r) / (1 - r)
    low = int(length * (1 - _R) / (1 + _R) - 1e-9)
    high = int(length * (1 + _R) / (1 - _R) + 1e-9) + 1
    for other in range(max(low, 0), high + 1):
        if abs(other - length) <= _R * (other + length) + 1e-9:
            yield other


def _pair_distance(length: int, other: int) -> int:
    """The most edits between names of these two lengths that still score the threshold."""
    return int(_R * (length + other) + 1e-9)


def probe_keys(kind: str, country: str, comparable: str) -> set[str]:
    """The keys to look up for a new name: every stored name scoring at least the threshold
    with it is under one of them."""
    scope = _scope(kind, country) + "|"
    keys: set[str] = set()
    add = keys.add
    for part, size, first, last in _probe_windows(len(comparable)):
        prefix = scope + part
        for position in range(first, last + 1):
            add(prefix + comparable[position : position + size])
    return keys


@lru_cache(maxsize=1024)
def _probe_windows(length: int) -> tuple[tuple[str, int, int, int], ...]:
    """Where a name of this length is cut for its probe: for each stored length and segment
    to look up, the key's part after the scope (`length|index|`), the segment's size, and the
    first and last position of its window in the name. They depend on the length alone, and
    working them out for each write cost most of the probe's Python time.

    A stored name of length m was cut for τ(m) edits, the most any name may differ from it;
    one of length l may differ by at most d = ⌊r (l + m)⌋ ≤ τ(m). With eᵢ edits in segment i
    (1-based), take the first i whose prefix e₁ + … + eᵢ is below i: it exists, since the
    whole sum is at most d < τ(m) + 1, and then eᵢ = 0, at most i − 1 edits lie before it and
    at most d + 1 − i after it. So only the first d + 1 segments are looked up, each where
    those bounds let it be (the multi-match-aware window of PassJoin, with d for τ)."""
    windows = []
    for other in _lengths(length):
        edits, shift = _pair_distance(length, other), length - other
        for index, (start, size) in enumerate(_segments(other)[: edits + 1]):
            first = max(start - index, start + shift - (edits - index), 0)
            last = min(start + index, start + shift + (edits - index), length - size)
            if first <= last:
                windows.append((_key_part(other, index), size, first, last))
    return tuple(windows)
