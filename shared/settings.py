"""Settings common to every service; each service extends them in its own settings.py."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Read from the environment (and a `.env` file in the working directory)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    page_size_default: int = Field(default=50, ge=1, description="Items per page when unasked.")
    page_size_max: int = Field(default=200, ge=1, description="Largest page a client may ask.")
