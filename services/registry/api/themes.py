"""/v1/themes: the controlled vocabulary of themes, read-only."""

from fastapi import APIRouter

from shared.errors import NotFound, problem_responses
from shared.themes import Theme, all_themes, get_theme

router = APIRouter(prefix="/v1/themes", tags=["themes"])


@router.get("", response_model=list[Theme])
def list_themes() -> list[Theme]:
    """Every theme with its French and English labels, the SDGs it maps to and its OECD DAC
    purpose codes (the sectors of the IATI export)."""
    return all_themes()


@router.get("/{code}", response_model=Theme, responses=problem_responses(404))
def read_theme(code: str) -> Theme:
    theme = get_theme(code)
    if theme is None:
        raise NotFound(f"No theme with code {code!r}; GET /v1/themes lists them.")
    return theme
