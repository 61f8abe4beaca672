"""Alembic environment of the registry database."""

from services.registry.models import metadata
from services.registry.settings import get_settings
from shared.alembic_env import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
