"""The registry's settings object: the one place that reads its configuration."""

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from sqlalchemy.engine import make_url

from services.registry.vocabulary import IatiId
from shared.settings import ServiceSettings

__all__ = ["RegistrySettings", "get_settings"]


class RegistrySettings(ServiceSettings):
    database_url: str = Field(
        default="sqlite:///./data/passerelles.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host:5432/db.",
    )
    import_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        gt=0,
        description="Largest file POST /v1/imports accepts (other bodies: MAX_BODY_BYTES).",
    )
    event_retention_days: float = Field(
        default=30, gt=0, description="How long events stay in the change feed."
    )
    webhook_dispatcher: Literal["embedded", "off"] = Field(
        default="embedded",
        description="`embedded` delivers webhooks from the API process; `off` leaves it to "
        "`python -m services.registry worker` processes.",
    )
    webhook_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,36000",
        description="Seconds to wait before each attempt, comma-separated; the first is the "
        "first try. Jitter of up to 10 % is added to each wait.",
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0, description="Per attempt.")
    webhook_allowed_hosts: str = Field(
        default="",
        description="Comma-separated hosts that may be private or plain http (tests, intranets).",
    )
    webhook_disable_after_seconds: float = Field(
        default=5 * 24 * 3600, gt=0, description="An endpoint failing this long is disabled."
    )
    webhook_secret_grace_seconds: float = Field(
        default=24 * 3600,
        ge=0,
        description="After a rotation, the old secret also signs this long.",
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, description="Dispatcher idle wait.")
    matching_public_url: str = Field(
        default="http://127.0.0.1:8001",
        description="Where browsers reach the matching service: the explorer at / calls it "
        "(allow the registry's origin in the matching service's MATCHING_CORS_ALLOW_ORIGINS).",
    )
    worker_status_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port on which a `worker` process answers /health, /ready and /metrics "
        "(0: none). API processes answer them on their own port.",
    )
    worker_status_host: str = Field(
        default="127.0.0.1", description="Address the worker's status port listens on."
    )
    webhook_concurrency: int = Field(default=8, ge=1, description="Parallel deliveries.")
    webhook_endpoint_concurrency: int = Field(
        default=2,
        ge=1,
        description="Deliveries in flight to one endpoint, across every dispatcher: a hanging "
        "receiver holds no more slots than this.",
    )
    duplicate_name_threshold: float = Field(
        default=92.0,
        ge=0,
        le=100,
        description="rapidfuzz token-sort score from which a new actor's name counts as a likely "
        "duplicate of an existing actor of the same kind and country.",
    )
    cursor_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs page cursors (HMAC-SHA256); every registry process needs the same. "
        "Unset: generated on first start and kept in `cursor_secret_file`.",
    )
    cursor_secret_file: str = Field(
        default="",
        description="Where the generated cursor secret is kept when CURSOR_SECRET is unset; "
        "empty: `cursor-secret` next to the SQLite database, or in ./data for PostgreSQL.",
    )
    # The IATI export reports as one organisation: every activity of a file carries the same
    # reporting-org, and its identifier prefixes every iati-identifier.
    iati_reporting_org_ref: IatiId = Field(
        default="XX-PASSERELLES",
        description="IATI organisation identifier of who publishes the registry's IATI export "
        "(the operator of this registry); the default is a placeholder. Set it once, before "
        "the first publication: it prefixes every activity's iati-identifier, which IATI "
        "forbids changing.",
    )
    iati_reporting_org_name: str = Field(
        default="Passerelles", min_length=1, description="Its name, in the IATI export."
    )
    iati_reporting_org_type: str = Field(
        default="90",
        pattern=r"^(10|11|15|21|22|23|24|30|40|60|70|71|72|73|80|90)$",
        description="Its IATI OrganisationType code, e.g. 22 (national NGO: most resource "
        "centres and networks), 11 (local government), 90 (other).",
    )

    @property
    def cursor_secret_path(self) -> Path:
        if self.cursor_secret_file:
            return Path(self.cursor_secret_file)
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).parent / "cursor-secret"
        return Path("data") / "cursor-secret"

    @property
    def retry_schedule(self) -> list[float]:
        return [float(part) for part in self.webhook_retry_schedule.split(",") if part.strip()]

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return frozenset(
            host.strip().lower() for host in self.webhook_allowed_hosts.split(",") if host.strip()
        )


@cache
def get_settings() -> RegistrySettings:
    return RegistrySettings()
