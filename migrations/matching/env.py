"""Alembic environment of the matching database (suggestion feedback)."""

from services.matching.models import metadata
from services.matching.settings import get_settings
from shared.alembic_env import run_migrations

run_migrations(metadata, lambda: get_settings().database_url)
