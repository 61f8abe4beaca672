"""Labels for people that more than one export shows."""

from collections.abc import Iterable

from shared.themes import get_theme

__all__ = ["theme_labels"]


def theme_labels(codes: Iterable[str]) -> list[str]:
    """The themes' French labels, in the order of the codes (a code the vocabulary no longer
    has stays as it is)."""
    return [theme.label_fr if (theme := get_theme(code)) else code for code in codes]
