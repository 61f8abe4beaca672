"""The matching service's settings object: the one place that reads its configuration."""

from functools import cache
from pathlib import Path

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
        default=5.0,
        gt=0,
        description="Longest wait between retries while the registry is down; it bounds how "
        "long after the registry is back the graph starts catching up.",
    )
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    ready_max_lag: float = Field(
        default=30.0,
        gt=0,
        description="`/ready` answers 503 once the graph has not been in step with the "
        "registry's feed for this many seconds (registry down, or the graph behind).",
    )
    registry_key: str = Field(
        default="",
        description="This service's own API key at the registry, with `registry:propose` only: "
        "it drafts the projects of adopted federations. Reads need no key.",
    )
    registry_key_file: Path | None = Field(
        default=None,
        description="A file holding that key (as written by `passerelles keys "
        "create --output`); used when `registry_key` is empty.",
    )
    query_rate_per_key: int = Field(
        default=600, ge=0, description="Matching queries a minute per API key (0: no limit)."
    )
    query_rate_per_ip: int = Field(
        default=600, ge=0, description="Matching queries a minute per client address (0: none)."
    )

    train_ranker: bool = Field(
        default=True,
        description="Learn the suggestion ranker from the graph's own ties in the background "
        "(off: the documented prior model serves).",
    )
    retrain_after_changes: int = Field(
        default=200, ge=1, description="Changes to the graph after which the ranker is retrained."
    )
    training_check_seconds: float = Field(
        default=10.0, gt=0, description="How often the trainer looks whether a training is due."
    )
    features_max_age_seconds: float = Field(
        default=1.0,
        ge=0,
        description="While the graph keeps changing, the feature snapshot suggestions rank "
        "with is rebuilt in the background no sooner than this, nor than twice its last build "
        "time (partners and filters always read the live graph).",
    )

    def service_key(self) -> str | None:
        if self.registry_key:
            return self.registry_key
        if self.registry_key_file is not None and self.registry_key_file.exists():
            return self.registry_key_file.read_text().strip() or None
        return None


@cache
def get_settings() -> MatchingSettings:
    return MatchingSettings()
