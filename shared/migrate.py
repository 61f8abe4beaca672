"""Bring a service's database schema to a revision with Alembic (one environment per database)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

__all__ = ["alembic_config", "downgrade", "upgrade"]

_ROOT = Path(__file__).resolve().parents[1]


def alembic_config(database_url: str, environment: str = "registry") -> Config:
    """The Alembic configuration of `environment` (`registry` or `matching`) for this URL."""
    config = Config(str(_ROOT / "alembic.ini"), ini_section=environment)
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, environment: str = "registry", revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url, environment), revision)


def downgrade(database_url: str, environment: str = "registry", revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url, environment), revision)
