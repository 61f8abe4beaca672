"""The README's configuration table lists every setting of both services, with its default."""

import re
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from services.matching.settings import MatchingSettings
from services.registry.settings import RegistrySettings
from shared.settings import ServiceSettings

README = Path(__file__).resolve().parents[1] / "README.md"
# For `make test` only: read by the suite, not by a service.
NOT_SETTINGS = {"TEST_DATABASE_URL"}
BOTH = "`MATCHING_` prefix for matching"


def table() -> dict[str, tuple[str, str]]:
    """Each variable of the table: (its default cell, its whole row)."""
    text = README.read_text()
    section = text[text.index("## Configuration") :]
    section = section[: section.index("\n## ", 1)]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = [part.strip() for part in cells[1].split(" / ")]
        for index, name in enumerate(names):
            rows[name] = (defaults[index] if len(defaults) == len(names) else cells[1], line)
    return rows


def settings() -> dict[str, FieldInfo]:
    prefix = MatchingSettings.model_config.get("env_prefix", "")
    found = {name.upper(): info for name, info in RegistrySettings.model_fields.items()}
    found |= {
        prefix + name.upper(): info
        for name, info in MatchingSettings.model_fields.items()
        if name not in ServiceSettings.model_fields
    }
    return found


def shown(default: Any) -> str | None:
    """How a simple default is written in the table; None for one described in words."""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, int | float) or (isinstance(default, str) and default):
        return str(default)
    return None


def test_every_setting_is_in_the_table_with_its_default():
    rows = table()
    missing = sorted(set(settings()) - set(rows))
    assert not missing, f"add these settings to the README's configuration table: {missing}"
    for name, info in settings().items():
        default_cell, row = rows[name]
        expected = shown(info.default)
        if expected is not None and "`" in default_cell:
            assert f"`{expected}`" in default_cell or expected in default_cell, (name, row)
        if name.lower() in ServiceSettings.model_fields:
            assert BOTH in row, f"{name} is read by both services: say so in its row"


def test_the_table_lists_only_settings():
    unknown = sorted(set(table()) - set(settings()) - NOT_SETTINGS)
    assert not unknown, f"the README documents variables no settings class reads: {unknown}"


def test_log_settings_take_the_spelling_of_pythons_logging_too(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    settings = RegistrySettings()
    assert (settings.log_level, settings.log_format) == ("warning", "json")
