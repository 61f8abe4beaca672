"""Text normalisation for search and comparison of names, and the rule every name follows."""

import re
import unicodedata
from functools import lru_cache

from pydantic import AfterValidator

__all__ = ["NO_NUL", "VISIBLE", "comparable_name", "fold", "visible"]

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


# Characters that show nothing although Unicode files them as letters: the Hangul fillers and
# the combining grapheme joiner, all default-ignorable.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u3164\uffa0")


def _invisible(char: str) -> bool:
    # Z*: spaces and separators; Cc: tabs, newlines and other controls; Cf: zero-width space
    # and joiners, word joiner, byte order mark, bidirectional marks.
    category = unicodedata.category(char)
    return category[0] == "Z" or category in ("Cc", "Cf") or char in _BLANK_LETTERS


def visible(text: str) -> str:
    """`text` without invisible characters at either end; a ValueError if nothing is left.

    >>> visible("\u200b Sahel Vert\u3000")
    'Sahel Vert'
    >>> visible("\u00a0\u200b\u3000")
    Traceback (most recent call last):
    ...
    ValueError: must contain a visible character, not only spaces or invisible ones
    """
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    if start == end:
        raise ValueError("must contain a visible character, not only spaces or invisible ones")
    return text[start:end]


# Pydantic metadata for a name or title: `Annotated[str, StringConstraints(...), VISIBLE]`.
VISIBLE = AfterValidator(visible)


# How authorities are named in directories: "Ville de Lyon" is Lyon. Longest first, folded.
_AUTHORITY_PREFIXES = tuple(
    sorted(
        (
            "ville de",
            "ville d",
            "commune de",
            "commune d",
            "mairie de",
            "mairie d",
            "conseil departemental de",
            "conseil departemental du",
            "conseil departemental des",
            "conseil departemental d",
            "departement de",
            "departement du",
            "departement des",
            "departement d",
            "conseil regional de",
            "conseil regional du",
            "conseil regional d",
            "region",
            "city of",
            "town of",
            "municipality of",
        ),
        key=len,
        reverse=True,
    )
)


# Words that say nothing of which organisation a name is: articles and the legal form. Left in,
# they make every "Association de …" look alike to the duplicate index (`name_keys`).
_GENERIC_WORDS = frozenset(
    {"association", "asso", "de", "des", "du", "d", "la", "le", "les", "l", "et", "en", "au"}
    | {"aux", "the", "of", "and"}
)


# An import compares each new name with its near namesakes, so the same names come back often.
@lru_cache(maxsize=1 << 16)
def comparable_name(name: str) -> str:
    """A name as duplicate detection compares it: folded, without the usual prefixes of an
    authority's name and without articles and legal forms, words in order.

    The duplicate index stores names in this form: a change here needs the index rebuilt
    (migration `0007_actor_name_key` shows how).

    >>> comparable_name("Ville de Lyon") == comparable_name("Lyon")
    True
    >>> comparable_name("Conseil départemental de l'Isère")
    'isere'
    >>> comparable_name("Association des Maliens de Montreuil")
    'maliens montreuil'
    """
    folded = fold(name)
    for prefix in _AUTHORITY_PREFIXES:
        if folded.startswith(prefix + " "):
            folded = folded[len(prefix) + 1 :]
            break
    words = folded.split()
    meaningful = [word for word in words if word not in _GENERIC_WORDS] or words
    return " ".join(sorted(meaningful))
