"""The registry's settings object: the one place that reads its configuration."""

from functools import cache

from pydantic import Field

from shared.settings import ServiceSettings

__all__ = ["RegistrySettings", "get_settings"]


class RegistrySettings(ServiceSettings):
    database_url: str = Field(
        default="sqlite:///./data/passerelles.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host:5432/db.",
    )
    duplicate_name_threshold: float = Field(
        default=92.0,
        ge=0,
        le=100,
        description="rapidfuzz token-sort score from which a new actor's name counts as a likely "
        "duplicate of an existing actor of the same kind and country.",
    )


@cache
def get_settings() -> RegistrySettings:
    return RegistrySettings()
