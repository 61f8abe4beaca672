"""What every Alembic environment of the project does; each env.py only names its metadata."""

from collections.abc import Callable
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection, MetaData
from sqlmodel.sql.sqltypes import AutoString

from shared.db import UTCDateTime, make_engine

__all__ = ["run_migrations"]


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy ones, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _of_this_database(dialect: str) -> Callable[..., bool]:
    """Leave out of the comparison of models and schema an index that exists on other
    databases only (its `info["dialects"]`, e.g. PostgreSQL's trigram index)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        dialects = getattr(obj, "info", {}).get("dialects") if type_ == "index" else None
        return dialects is None or dialect in dialects

    return include


def _configure(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_of_this_database(connection.dialect.name),
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """Run the migrations of the current Alembic context against `metadata`'s database.

    The URL comes from the config's `database_url` attribute (set by the services' migrate
    commands and the tests), else from the service's settings.
    """
    config = context.config
    if config.config_file_name is not None and config.attributes.get("configure_logging", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = config.attributes.get("database_url") or default_url()
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _configure(connection, metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
