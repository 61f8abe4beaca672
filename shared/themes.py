"""The controlled vocabulary of themes, shipped as data and shared by both services."""

import json
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, Field

__all__ = ["Theme", "all_themes", "get_theme", "is_known_theme"]


class Theme(BaseModel):
    code: str
    label_fr: str
    label_en: str
    sdgs: list[int]
    dac_sectors: list[str] = Field(
        description="OECD DAC 5-digit purpose codes (IATI Sector codelist), most relevant "
        "first; the IATI export reports a project's sectors with the first code of each theme.",
        examples=[["14030", "14020", "14010"]],
    )


@cache
def _by_code() -> dict[str, Theme]:
    raw = json.loads(files("shared").joinpath("data/themes.json").read_text(encoding="utf-8"))
    return {item["code"]: Theme(**item) for item in raw}


def all_themes() -> list[Theme]:
    """Every theme, in the vocabulary's order."""
    return list(_by_code().values())


def get_theme(code: str) -> Theme | None:
    """The theme with this code, or None."""
    return _by_code().get(code)


def is_known_theme(code: str) -> bool:
    return code in _by_code()
