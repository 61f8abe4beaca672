"""Settings common to every service; each service extends them in its own settings.py."""

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Read from the environment (and a `.env` file in the working directory)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    page_size_default: int = Field(default=50, ge=1, description="Items per page when unasked.")
    page_size_max: int = Field(default=200, ge=1, description="Largest page a client may ask.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Larger request bodies are refused with 413."
    )
    cors_allow_origins: str = Field(
        default="",
        description="Comma-separated origins of front-end apps allowed to call from a browser, "
        "e.g. https://carte.example.org. Empty: no cross-origin browser access.",
    )
    write_rate_per_key: int = Field(
        default=120, ge=0, description="Writes a minute per API key (0: no limit)."
    )
    write_rate_per_ip: int = Field(
        default=300, ge=0, description="Writes a minute per client address (0: no limit)."
    )

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`: a readable line per event (`make run`); `json`: one JSON object "
        "per line, for a log collector. Both carry the request id.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="`debug` also logs every successful read (at `info`, writes, errors and "
        "changes only).",
    )
    shutdown_grace_seconds: int = Field(
        default=10,
        ge=0,
        description="On SIGTERM, how long requests in flight may take to finish before the "
        "process stops.",
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        # LOG_LEVEL=WARNING is how Python's logging spells it; both spellings mean the same.
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]
