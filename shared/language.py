"""The language of the texts people read in an API answer: English by default (API clients),
French when the request's `Accept-Language` prefers it (the explorer, a French front end)."""

from typing import Annotated, Literal

from fastapi import Header

__all__ = ["LANGUAGES", "AcceptLanguage", "Language", "language_headers", "preferred_language"]

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")


def preferred_language(header: str | None) -> Language:
    """The first of English or French by the header's weights (RFC 9110 §12.5.4); English
    when it names neither, or is absent or malformed."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, parameters = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        weight = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight <= 0:
            continue
        # Higher weight first; of equal weights, the one named first.
        candidate = (-weight, position, primary)
        if best is None or candidate < best:
            best = candidate  # type: ignore[assignment]
    return best[2] if best is not None else "en"


# A route's `Accept-Language` header, documented once for every route that honours it.
AcceptLanguage = Annotated[
    str | None,
    Header(
        alias="Accept-Language",
        description="`fr` for texts in French (reasons, problem details); English otherwise.",
    ),
]


def language_headers(language: Language) -> dict[str, str]:
    """What an answer whose texts depend on Accept-Language says of it (caches included)."""
    return {"Content-Language": language, "Vary": "Accept-Language"}
