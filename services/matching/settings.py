"""The matching service's settings object: the one place that reads its configuration."""

from functools import cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

__all__ = ["MatchingSettings", "get_settings"]


class MatchingSettings(ServiceSettings):
    # Prefixed, so one environment can configure both services side by side.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_prefix="MATCHING_")

    database_url: str = Field(
        default="sqlite:///./data/matching.db",
        description="The matching service's own database (suggestion feedback).",
    )
    registry_url: str = Field(
        default="http://127.0.0.1:8000", description="Where the registry's public API is."
    )
    poll_seconds: float = Field(
        default=1.0, gt=0, description="Wait between feed reads once caught up."
    )
    max_backoff_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait between retries while the registry is down."
    )
    request_timeout_seconds: float = Field(default=10.0, gt=0)


@cache
def get_settings() -> MatchingSettings:
    return MatchingSettings()
