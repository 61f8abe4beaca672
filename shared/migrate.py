"""Bring a service's database schema to a revision with Alembic (one environment per database)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]

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


def head_revision(environment: str = "registry") -> str | None:
    """The revision the migrations of `environment` end at (read from the scripts)."""
    config = Config(str(_ROOT / "alembic.ini"), ini_section=environment)
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database behind `connection` is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()
