"""Text normalisation for search and comparison of names."""

import re
import unicodedata

__all__ = ["fold"]


def fold(text: str) -> str:
    """Lower-case, accent-free words separated by single spaces.

    >>> fold("Saint-Étienne  Métropole")
    'saint etienne metropole'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.split(r"[\W_]+", stripped.casefold())).strip()
