"""Text normalisation for search and comparison of names."""

import re
import unicodedata

__all__ = ["NO_NUL", "fold"]

# A `pattern` for free text clients send: PostgreSQL cannot store NUL (U+0000) in text, so it is
# refused at the edge with a 422 on the field, on every backend alike, and the schema says so.
NO_NUL = r"^[^\x00]*$"


def fold(text: str) -> str:
    """Lower-case, accent-free words separated by single spaces.

    >>> fold("Saint-Étienne  Métropole")
    'saint etienne metropole'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.split(r"[\W_]+", stripped.casefold())).strip()
